"""The unmodified bleak front end over the bumble backend, against a minimal bumble peripheral."""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError
from bumble import gatt
from bumble.core import UUID, AdvertisingData

from firmware_bridge.bumble_backend import (
    BumbleClientBackend,
    BumbleScannerBackend,
    SimulatedRadio,
    bleak_uuid,
)

SERVICE = "0000aa00-1111-2222-3333-444455556666"
CHAR = "0000aa01-1111-2222-3333-444455556666"
ADDRESS = "F1:00:00:00:00:01"


class TinyPeripheral:
    """A readable/writable/notifiable characteristic that records writes."""

    def __init__(self, radio: SimulatedRadio, address: str = ADDRESS, name: str = "tiny") -> None:
        self.writes: list[bytes] = []
        self.device = radio.create_device(name, address)
        props = gatt.Characteristic.Properties
        self.char = gatt.Characteristic(
            CHAR,
            props.READ | props.WRITE | props.WRITE_WITHOUT_RESPONSE | props.NOTIFY,
            gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(read=lambda _c: b"hello", write=self._on_write),
        )
        self.device.add_service(gatt.Service(SERVICE, [self.char]))
        self.name = name

    def _on_write(self, _connection: object, value: bytes) -> None:
        self.writes.append(bytes(value))

    async def start(self) -> None:
        await self.device.power_on()
        adv = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.Type.FLAGS, bytes([0x06])),
                    (AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                     UUID(SERVICE).to_bytes()),
                    (AdvertisingData.Type.COMPLETE_LOCAL_NAME, self.name.encode()),
                    (AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID, bytes([0x0F, 0x18, 77])),
                    (AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA, bytes([0xFF, 0xFF, 1, 2])),
                ]
            )
        )
        await self.device.start_advertising(
            advertising_data=adv, advertising_interval_min=20, advertising_interval_max=20
        )


@pytest.fixture
async def radio():
    async with SimulatedRadio() as r:
        yield r


def test_bleak_uuid_16_and_128() -> None:
    assert bleak_uuid(UUID.from_16_bits(0x2902)) == "00002902-0000-1000-8000-00805f9b34fb"
    assert bleak_uuid(UUID(SERVICE)) == SERVICE


async def test_connect_discover_read_write_notify(radio: SimulatedRadio) -> None:
    peripheral = TinyPeripheral(radio)
    await peripheral.start()
    async with BleakClient(ADDRESS, backend=BumbleClientBackend, timeout=5.0) as client:
        assert client.is_connected
        assert client.mtu_size == 247
        service = client.services.get_service(SERVICE)
        assert service is not None
        char = service.get_characteristic(CHAR)
        assert char is not None
        assert set(char.properties) >= {"read", "write", "write-without-response", "notify"}
        assert [d.uuid for d in char.descriptors] == ["00002902-0000-1000-8000-00805f9b34fb"]
        assert char.max_write_without_response_size == 244
        assert await client.read_gatt_char(CHAR) == bytearray(b"hello")
        await client.write_gatt_char(CHAR, b"with", response=True)
        await client.write_gatt_char(CHAR, b"without", response=False)
        await asyncio.sleep(0.01)
        assert peripheral.writes == [b"with", b"without"]

        got: list[bytes] = []
        await client.start_notify(CHAR, lambda _c, data: got.append(bytes(data)))
        cccd = char.descriptors[0]
        assert await client.read_gatt_descriptor(cccd.handle) == bytearray(b"\x01\x00")
        for i in range(50):
            await peripheral.device.notify_subscribers(peripheral.char, bytes([i]) * 200)
        await asyncio.sleep(0.05)
        assert got == [bytes([i]) * 200 for i in range(50)]
        await client.stop_notify(CHAR)
        assert await client.read_gatt_descriptor(cccd.handle) == bytearray(b"\x00\x00")
        await peripheral.device.notify_subscribers(peripheral.char, b"late")
        await asyncio.sleep(0.01)
        assert len(got) == 50
    assert not client.is_connected
    await client.disconnect()  # idempotent


async def test_link_loss_calls_disconnected_callback(radio: SimulatedRadio) -> None:
    peripheral = TinyPeripheral(radio)
    await peripheral.start()
    lost = asyncio.Event()
    client = BleakClient(
        ADDRESS, disconnected_callback=lambda _c: lost.set(), backend=BumbleClientBackend
    )
    await client.connect()
    connection = next(iter(peripheral.device.connections.values()))
    await connection.disconnect(reason=0x08)
    await asyncio.wait_for(lost.wait(), timeout=2.0)
    assert not client.is_connected
    with pytest.raises(BleakError):
        await client.read_gatt_char(CHAR)
    await client.disconnect()


async def test_requested_disconnect_does_not_call_callback(radio: SimulatedRadio) -> None:
    peripheral = TinyPeripheral(radio)
    await peripheral.start()
    calls: list[object] = []
    async with BleakClient(
        ADDRESS, disconnected_callback=calls.append, backend=BumbleClientBackend
    ) as client:
        assert client.is_connected
    await asyncio.sleep(0.01)
    assert calls == []


async def test_connect_to_silent_address_times_out(radio: SimulatedRadio) -> None:
    with pytest.raises(TimeoutError):
        async with BleakClient("F1:00:00:00:00:99", backend=BumbleClientBackend, timeout=0.3):
            pass


async def test_parallel_connects_fail_like_bluez_in_progress(radio: SimulatedRadio) -> None:
    first = TinyPeripheral(radio, "F1:00:00:00:00:01", "one")
    second = TinyPeripheral(radio, "F1:00:00:00:00:02", "two")
    await first.start()
    await second.start()
    clients = [
        BleakClient(p.device.random_address.to_string(False), backend=BumbleClientBackend)
        for p in (first, second)
    ]
    results = await asyncio.gather(*(c.connect() for c in clients), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1
    assert "InProgress" in str(errors[0])
    for c in clients:
        await c.disconnect()


async def test_scanner_reports_name_uuids_rssi_and_battery(radio: SimulatedRadio) -> None:
    peripheral = TinyPeripheral(radio)
    await peripheral.start()
    await TinyPeripheral(radio, "F1:00:00:00:00:02", "other-no-match").device.power_on()
    radio.rssi_dbm[ADDRESS] = -67
    found = await BleakScanner.discover(
        timeout=0.2, return_adv=True, service_uuids=[SERVICE], backend=BumbleScannerBackend
    )
    assert list(found) == [ADDRESS]
    device, adv = found[ADDRESS]
    assert device.name == "tiny"
    assert adv.local_name == "tiny"
    assert adv.service_uuids == [SERVICE]
    assert adv.rssi == -67
    assert adv.service_data == {"0000180f-0000-1000-8000-00805f9b34fb": bytes([77])}
    assert adv.manufacturer_data == {0xFFFF: bytes([1, 2])}
