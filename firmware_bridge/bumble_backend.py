"""A bleak backend over an emulated bumble radio, for simulated sensors in one event loop.

``BleakClient(address, backend=BumbleClientBackend)`` and
``BleakScanner(backend=BumbleScannerBackend)`` work unmodified: the code under test is the
real bleak front end, and the bytes travel through a real ATT/GATT stack (bumble ``Device``
objects on emulated ``Controller`` s joined by a ``LocalLink``): MTU exchange, service
discovery, CCCD subscription, notifications, link loss with HCI reason codes. Nothing leaves
the process.

A :class:`SimulatedRadio` owns the link, the central device (the "adapter") and the peripherals'
controllers. Backends find their radio through the ``radio=`` keyword argument (bleak forwards
unknown keyword arguments to the backend) or, by default, the radio entered most recently with
``async with``.

Examples
--------
>>> async def demo():  # doctest: +SKIP
...     async with SimulatedRadio() as radio:
...         sensor = radio.create_device("sensor", "F1:00:00:00:00:01")
...         ...  # add GATT services, start advertising
...         async with BleakClient("F1:00:00:00:00:01", backend=BumbleClientBackend) as client:
...             print(client.mtu_size)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid as uuid_module
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES, CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.controller import Controller
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt_client import CharacteristicProxy
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

__all__ = [
    "DEFAULT_CENTRAL_ADDRESS",
    "BumbleClientBackend",
    "BumbleScannerBackend",
    "SimulatedRadio",
    "bleak_uuid",
]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Static random address of the emulated central (the host's adapter).
DEFAULT_CENTRAL_ADDRESS = "F0:5C:00:00:00:01"
#: ATT MTU the central asks for (BlueZ and most phones ask for 247 or more).
REQUESTED_MTU = 247
#: Timeout of one GATT request inside the emulated stack, seconds.
GATT_REQUEST_TIMEOUT_S = 10.0
#: How long ``disconnect()`` waits for the disconnection complete event, seconds.
DISCONNECT_TIMEOUT_S = 5.0

_active_radios: list[SimulatedRadio] = []


def bleak_uuid(value: core.UUID) -> str:
    """Convert a bumble UUID to bleak's normalised lower-case 128-bit string.

    Parameters
    ----------
    value
        A bumble UUID (16, 32 or 128 bit).

    Returns
    -------
    str
        For example ``"00002902-0000-1000-8000-00805f9b34fb"``.
    """
    little_endian = value.to_bytes(force_128=True)
    return str(uuid_module.UUID(bytes=bytes(reversed(little_endian))))


class SimulatedRadio:
    """The emulated 2.4 GHz world: one LocalLink, one central device, any number of peripherals.

    Parameters
    ----------
    central_address
        Static random address of the central (the host adapter).
    time_scale
        Speed of the virtual clock relative to the host's monotonic clock (10 runs a simulated
        minute in 6 s). Simulated sensors schedule their samples on it.
    link_latency_s, link_jitter_s
        Arrival-time model of a notification: it reaches the host application
        ``link_latency_s`` plus an exponential delay of mean ``link_jitter_s`` after the
        connection event it was sent in (controller, HCI transport and host stack), never
        before the previous notification of the same link.
    seed
        Seed of the jitter.

    Attributes
    ----------
    link : bumble.link.LocalLink
        The bus joining all emulated controllers.
    central : bumble.device.Device
        The host-side device used by every client and scanner backend (available after
        :meth:`start`).
    rssi_dbm : dict[str, int]
        Optional per-address RSSI reported by the scanner backend instead of the emulated
        controller's constant -50 dBm (keys are upper-case addresses).

    Notes
    -----
    The emulated central accepts one pending LE connection at a time, as a real controller does:
    a second concurrent ``connect`` fails with a ``BleakError`` mentioning ``InProgress``, the
    same failure BlueZ reports. Connect several sensors one after another.

    Arrival times are virtual, not measured. The bytes travel through the real bumble stack on
    the event loop, but the time a notification is stamped with on arrival (``clock_ns()``
    read inside the client's notification callback) is the virtual time of its connection event
    plus the latency model above. Measuring it on the loop instead would multiply every
    scheduling delay of a loaded machine (and the 1 ms timer granularity of the loop) by
    ``time_scale`` and make the clock fits depend on machine load. Outside a notification
    callback ``clock_ns()`` is the scaled monotonic clock.
    """

    def __init__(
        self,
        *,
        central_address: str = DEFAULT_CENTRAL_ADDRESS,
        time_scale: float = 1.0,
        link_latency_s: float = 0.001,
        link_jitter_s: float = 0.002,
        seed: int = 0,
    ) -> None:
        if not time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        if link_latency_s < 0 or link_jitter_s < 0:
            raise ValueError(
                f"link latency and jitter must be >= 0, got {link_latency_s}, {link_jitter_s}"
            )
        self.central_address = central_address
        self.time_scale = float(time_scale)
        self.link_latency_s = float(link_latency_s)
        self.link_jitter_s = float(link_jitter_s)
        self._rng = random.Random(seed)
        self._t0_ns = time.monotonic_ns()
        self.link: LocalLink | None = None
        self._central: Device | None = None
        self.rssi_dbm: dict[str, int] = {}
        self._scan_users = 0
        #: True while the central has an LE connection attempt pending (one at a time).
        self.connecting = False
        self._scan_lock: asyncio.Lock | None = None
        self._devices: list[Device] = []
        # peripheral address -> notifications on the air: (value, virtual arrival ns)
        self._in_flight: dict[str, deque[tuple[bytes, int]]] = {}
        self._last_arrival_ns: dict[str, int] = {}
        self._delivering_ns: int | None = None

    # --- virtual time ------------------------------------------------------------------------
    def clock_ns(self) -> int:
        """Virtual "true" time in integer nanoseconds: the host monotonic clock sped up by
        ``time_scale`` (equal to ``time.monotonic_ns()`` at scale 1). Simulated sensors sample
        on this clock; pass it to the client as its arrival clock so timing stays consistent.
        Inside a notification callback it is that notification's modelled arrival time."""
        if self._delivering_ns is not None:
            return self._delivering_ns
        now_ns = time.monotonic_ns()
        return self._t0_ns + round((now_ns - self._t0_ns) * self.time_scale)

    def now_s(self) -> float:
        """Virtual time in seconds (see :meth:`clock_ns`)."""
        return self.clock_ns() * 1e-9

    async def sleep_until(self, virtual_time_s: float) -> None:
        """Sleep until the virtual clock reaches ``virtual_time_s`` (returns at once if past)."""
        delay_s = (virtual_time_s - self.now_s()) / self.time_scale
        await asyncio.sleep(max(0.0, delay_s))

    def transmit(self, address: str, value: bytes, at_s: float) -> None:
        """A peripheral sends a notification in its connection event at virtual time ``at_s``.

        Call just before handing the value to the GATT server; the arrival time drawn here is
        what the host's callback reads from :meth:`clock_ns` when the value arrives.
        """
        jitter_s = self._rng.expovariate(1.0 / self.link_jitter_s) if self.link_jitter_s else 0.0
        arrival_ns = round((at_s + self.link_latency_s + jitter_s) * 1e9)
        arrival_ns = max(arrival_ns, self._last_arrival_ns.get(address, arrival_ns))
        self._last_arrival_ns[address] = arrival_ns
        queue = self._in_flight.setdefault(address, deque(maxlen=100_000))
        queue.append((bytes(value), arrival_ns))

    @contextlib.contextmanager
    def delivering(self, address: str, value: bytes) -> Iterator[None]:
        """While the host handles a notification from ``address``, :meth:`clock_ns` returns its
        modelled arrival time. Notifications sent earlier on the link and never delivered (the
        link dropped) are forgotten; a value never transmitted keeps the scaled clock."""
        queue = self._in_flight.get(address)
        arrival_ns = None
        if queue:
            for k, (sent, t_ns) in enumerate(queue):
                if sent == value:
                    arrival_ns = t_ns
                    for _ in range(k + 1):
                        queue.popleft()
                    break
        previous, self._delivering_ns = self._delivering_ns, arrival_ns
        try:
            yield
        finally:
            self._delivering_ns = previous

    # --- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Create the link and power the central on; makes this the active radio."""
        if self._central is not None:
            return
        self.link = LocalLink()
        self._scan_lock = asyncio.Lock()
        self._central = self._make_device("stridecue-host", self.central_address)
        await asyncio.wait_for(self._central.power_on(), timeout=GATT_REQUEST_TIMEOUT_S)
        _active_radios.append(self)
        logger.debug("simulated radio started, central %s", self.central_address)

    async def close(self) -> None:
        """Disconnect every link, stop advertising and scanning; idempotent."""
        if self in _active_radios:
            _active_radios.remove(self)
        for device in [*self._devices]:
            for connection in list(device.connections.values()):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.disconnect(), timeout=DISCONNECT_TIMEOUT_S)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(device.stop_advertising(), timeout=DISCONNECT_TIMEOUT_S)
        if self._central is not None and self._central.scanning:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._central.stop_scanning(), timeout=DISCONNECT_TIMEOUT_S)
        # let the disconnection events drain through the emulated controllers
        await asyncio.sleep(0)
        self._devices.clear()
        self._central = None

    async def __aenter__(self) -> SimulatedRadio:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @classmethod
    def active(cls) -> SimulatedRadio:
        """Return the radio entered most recently (``async with`` / :meth:`start`).

        Raises
        ------
        bleak.exc.BleakError
            When no simulated radio is running.
        """
        if not _active_radios:
            raise BleakError(
                "no simulated radio is running: start one with `async with SimulatedRadio()` "
                "or pass radio= to the bleak client/scanner"
            )
        return _active_radios[-1]

    # --- devices -------------------------------------------------------------------------------
    @property
    def central(self) -> Device:
        """The host-side bumble device (raises when the radio is not started)."""
        if self._central is None:
            raise BleakError("the simulated radio is not started")
        return self._central

    def create_device(self, name: str, address: str) -> Device:
        """Create a bumble device on this radio's link (for a simulated peripheral).

        Parameters
        ----------
        name
            The GAP device name.
        address
            Its static random address, ``"XX:XX:XX:XX:XX:XX"``.

        Returns
        -------
        bumble.device.Device
            Not yet powered on; the caller adds services, powers it on and advertises.
        """
        if self.link is None:
            raise BleakError("the simulated radio is not started")
        return self._make_device(name, address)

    def _make_device(self, name: str, address: str) -> Device:
        assert self.link is not None
        controller = Controller(f"ctrl-{name}", link=self.link)
        device = Device(
            name=name,
            address=hci.Address(address),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        self._devices.append(device)
        return device

    # --- scanning (shared by all scanner backends) ------------------------------------------------
    async def acquire_scan(self) -> None:
        """Start scanning on the central unless another scanner already did."""
        assert self._scan_lock is not None
        async with self._scan_lock:
            self._scan_users += 1
            if self._scan_users == 1:
                await asyncio.wait_for(
                    self.central.start_scanning(filter_duplicates=False),
                    timeout=GATT_REQUEST_TIMEOUT_S,
                )

    async def release_scan(self) -> None:
        """Stop scanning when the last scanner releases it."""
        assert self._scan_lock is not None
        async with self._scan_lock:
            self._scan_users = max(0, self._scan_users - 1)
            if self._scan_users == 0 and self._central is not None and self._central.scanning:
                await asyncio.wait_for(
                    self._central.stop_scanning(), timeout=GATT_REQUEST_TIMEOUT_S
                )


def _resolve_radio(kwargs: dict[str, Any]) -> SimulatedRadio:
    radio = kwargs.get("radio")
    if radio is None:
        return SimulatedRadio.active()
    if not isinstance(radio, SimulatedRadio):
        raise TypeError(f"radio= must be a SimulatedRadio, got {type(radio).__name__}")
    return radio


def _properties(flags: int) -> list[CharacteristicPropertyName]:
    return [name for bit, name in CHARACTERISTIC_PROPERTIES.items() if flags & bit]


class BumbleClientBackend(BaseBleakClient):
    """A bleak client backend whose peer is a bumble peripheral on a :class:`SimulatedRadio`.

    Parameters
    ----------
    address_or_ble_device
        The peripheral's address, or a ``BLEDevice`` from :class:`BumbleScannerBackend`.
    disconnected_callback
        Called (no arguments) when the link drops without :meth:`disconnect` being asked for.
    timeout
        Connect timeout (connection + MTU exchange + discovery), seconds.
    **kwargs
        ``radio=`` selects the :class:`SimulatedRadio` (default: the active one); ``services=``
        (a set of normalised UUID strings) limits discovery like on the platform backends;
        bleak's platform arguments (``bluez=``, ``winrt=``) are accepted and ignored.
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._radio_kwargs = {"radio": kwargs.get("radio")}
        self._service_filter: set[str] | None = kwargs.get("services")
        self._name: str | None = (
            address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._disconnecting = False
        self._lost: asyncio.Future[int] | None = None
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    # --- properties ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The advertised name when known, otherwise the address with dashes."""
        return self._name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        """The negotiated ATT MTU (23 before the exchange)."""
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        """True while the LE link is up."""
        return self._connection is not None and self._lost is not None and not self._lost.done()

    # --- connectivity --------------------------------------------------------------------------
    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, exchange the MTU and discover all services, characteristics and descriptors.

        Raises
        ------
        TimeoutError
            When the peripheral does not answer within the timeout.
        bleak.exc.BleakError
            When another connection is pending on the radio (``InProgress``) or the link drops
            during setup.
        """
        if pair:
            logger.debug("pairing is not needed by simulated sensors; ignored")
        if self.is_connected:
            return
        radio = _resolve_radio(self._radio_kwargs)
        central = radio.central
        address = hci.Address(self.address.upper())
        loop = asyncio.get_running_loop()
        self._disconnecting = False
        try:
            async with asyncio.timeout(self._timeout):
                if radio.connecting:
                    raise BleakError(
                        "org.bluez.Error.InProgress: another connection attempt is pending on "
                        "this adapter; connect sensors one after another"
                    )
                radio.connecting = True
                try:
                    connection = await central.connect(address, timeout=self._timeout)
                except core.TimeoutError as exc:
                    raise TimeoutError(f"{self.address} did not answer (not advertising?)") from exc
                except core.BaseBumbleError as exc:
                    raise BleakError(f"connection to {self.address} failed: {exc}") from exc
                finally:
                    radio.connecting = False
                self._connection = connection
                self._lost = loop.create_future()
                connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
                self._peer = Peer(connection)
                await self._guard(self._peer.request_mtu(REQUESTED_MTU))
                self.services = await self._guard(self._discover())
        except TimeoutError as exc:
            await self._abort()
            raise TimeoutError(
                f"connecting to {self.address} timed out after {self._timeout} s"
            ) from exc
        except BaseException:
            await self._abort()
            raise
        logger.debug("connected to %s, MTU %s", self.address, self.mtu_size)

    async def _abort(self) -> None:
        connection = self._connection
        if connection is not None and self._lost is not None and not self._lost.done():
            self._disconnecting = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.disconnect(), timeout=DISCONNECT_TIMEOUT_S)
        self._forget()

    def _forget(self) -> None:
        self._connection = None
        self._peer = None
        self._subscribers.clear()

    async def _guard(self, awaitable: Coroutine[Any, Any, _T]) -> _T:
        """Await a GATT operation, failing fast when the link drops meanwhile."""
        lost = self._lost
        if lost is None or lost.done():
            awaitable.close()
            raise BleakError(f"not connected to {self.address}")
        task = asyncio.ensure_future(awaitable)
        try:
            done, _ = await asyncio.wait(
                {task, lost}, timeout=GATT_REQUEST_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task in done:
            if task.cancelled():  # bumble cancels pending requests when the link drops
                raise BleakError(f"{self.address} disconnected during a GATT operation")
            try:
                return task.result()
            except att.ATT_Error as exc:
                raise BleakGATTProtocolError(exc.error_code) from exc
            except core.BaseBumbleError as exc:
                raise BleakError(f"GATT operation on {self.address} failed: {exc}") from exc
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        if lost.done():
            raise BleakError(
                f"{self.address} disconnected during a GATT operation "
                f"(HCI reason 0x{lost.result():02X})"
            )
        raise TimeoutError(f"GATT operation on {self.address} timed out")

    async def _discover(self) -> BleakGATTServiceCollection:
        assert self._peer is not None
        peer = self._peer
        collection = BleakGATTServiceCollection()
        for service_proxy in await peer.discover_services():
            service_uuid = bleak_uuid(service_proxy.uuid)
            if self._service_filter and service_uuid not in self._service_filter:
                continue
            service = BleakGATTService(service_proxy, service_proxy.handle, service_uuid)
            collection.add_service(service)
            for char_proxy in await service_proxy.discover_characteristics():
                characteristic = BleakGATTCharacteristic(
                    char_proxy,
                    char_proxy.handle,
                    bleak_uuid(char_proxy.uuid),
                    _properties(int(char_proxy.properties)),
                    self._max_write_without_response_size,
                    service,
                )
                collection.add_characteristic(characteristic)
                for desc_proxy in await char_proxy.discover_descriptors():
                    descriptor = BleakGATTDescriptor(
                        desc_proxy, desc_proxy.handle, bleak_uuid(desc_proxy.type), characteristic
                    )
                    collection.add_descriptor(descriptor)
        return collection

    def _max_write_without_response_size(self) -> int:
        return self.mtu_size - 3

    def _on_disconnection(self, reason: int) -> None:
        lost = self._lost
        if lost is not None and not lost.done():
            lost.set_result(int(reason))
        solicited = self._disconnecting
        self._forget()
        logger.info(
            "%s disconnected (HCI reason 0x%02X, %s)",
            self.address,
            int(reason),
            "requested" if solicited else "link lost",
        )
        if not solicited and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        """Disconnect; safe to call when already disconnected or twice."""
        connection = self._connection
        lost = self._lost
        if connection is None or lost is None or lost.done():
            self._forget()
            return
        self._disconnecting = True
        with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error):
            await asyncio.wait_for(connection.disconnect(), timeout=DISCONNECT_TIMEOUT_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(lost), timeout=DISCONNECT_TIMEOUT_S)
        self._forget()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Do nothing: the simulated sensors need no pairing (nor do stridecue's real ones)."""
        logger.debug("pair() ignored by the simulated radio")

    async def unpair(self) -> None:
        """Disconnect (the simulated radio keeps no bonds)."""
        await self.disconnect()

    # --- GATT I/O ------------------------------------------------------------------------------
    def _require_peer(self) -> Peer:
        if self._peer is None or not self.is_connected:
            raise BleakError(f"not connected to {self.address}")
        return self._peer

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a characteristic value (always from the device)."""
        peer = self._require_peer()
        value = await self._guard(peer.read_value(characteristic.handle))
        return bytearray(value)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a descriptor value."""
        peer = self._require_peer()
        value = await self._guard(peer.read_value(descriptor.handle))
        return bytearray(value)

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        """Write a characteristic value, with or without response."""
        peer = self._require_peer()
        await self._guard(
            peer.write_value(characteristic.handle, bytes(data), with_response=response)
        )

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        """Write a descriptor value (with response)."""
        peer = self._require_peer()
        await self._guard(peer.write_value(descriptor.handle, bytes(data), with_response=True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Write the CCCD (notifications preferred) and route each value to ``callback``."""
        self._require_peer()
        proxy = characteristic.obj
        if not isinstance(proxy, CharacteristicProxy):
            raise BleakError(f"characteristic {characteristic.uuid} was not discovered here")

        radio = _resolve_radio(self._radio_kwargs)
        address = self.address.upper()

        def on_value(value: bytes) -> None:
            with radio.delivering(address, value):
                callback(bytearray(value))

        self._subscribers[characteristic.handle] = on_value
        await self._guard(proxy.subscribe(on_value, prefer_notify=True))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Clear the CCCD and drop the callback."""
        self._require_peer()
        proxy = characteristic.obj
        subscriber = self._subscribers.pop(characteristic.handle, None)
        if isinstance(proxy, CharacteristicProxy):
            await self._guard(proxy.unsubscribe(subscriber))


class BumbleScannerBackend(BaseBleakScanner):
    """A bleak scanner backend listening on a :class:`SimulatedRadio`'s central.

    Parameters
    ----------
    detection_callback
        Called with ``(BLEDevice, AdvertisementData)`` for each advertisement.
    service_uuids
        Report only advertisers listing one of these service UUIDs.
    scanning_mode
        ``"active"`` or ``"passive"`` (both behave the same on the emulated radio).
    **kwargs
        ``radio=`` selects the :class:`SimulatedRadio` (default: the active one); bleak's
        platform arguments (``bluez=``, ``cb=``) are accepted and ignored.
    """

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._radio_kwargs = {"radio": kwargs.get("radio")}
        self._radio: SimulatedRadio | None = None
        self._scanning = False

    async def start(self) -> None:
        """Start listening to advertisements (clears ``seen_devices``)."""
        if self._scanning:
            return
        self.seen_devices = {}
        radio = _resolve_radio(self._radio_kwargs)
        self._radio = radio
        radio.central.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await radio.acquire_scan()
        self._scanning = True

    async def stop(self) -> None:
        """Stop listening; idempotent."""
        if not self._scanning or self._radio is None:
            return
        self._scanning = False
        radio = self._radio
        with contextlib.suppress(BleakError):
            radio.central.remove_listener(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await radio.release_scan()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        data = advertisement.data
        address = str(advertisement.address).split("/")[0].upper()
        ad_type_enum = core.AdvertisingData.Type
        names = data.get_all(ad_type_enum.COMPLETE_LOCAL_NAME, raw=True) or data.get_all(
            ad_type_enum.SHORTENED_LOCAL_NAME, raw=True
        )
        local_name = bytes(names[0]).decode("utf-8", "replace") if names else None
        service_uuids: list[str] = []
        for ad_type, size in (
            (core.AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, 2),
            (core.AdvertisingData.Type.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, 2),
            (core.AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, 16),
            (core.AdvertisingData.Type.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, 16),
        ):
            for raw in data.get_all(ad_type, raw=True):
                raw = bytes(raw)
                for start in range(0, len(raw) - size + 1, size):
                    uuid_bytes = raw[start : start + size]
                    as_text = bleak_uuid(core.UUID.from_bytes(uuid_bytes))
                    if as_text not in service_uuids:  # scan response may repeat the list
                        service_uuids.append(as_text)
        service_data: dict[str, bytes] = {}
        for ad_type, size in (
            (core.AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID, 2),
            (core.AdvertisingData.Type.SERVICE_DATA_128_BIT_UUID, 16),
        ):
            for raw in data.get_all(ad_type, raw=True):
                raw = bytes(raw)
                if len(raw) >= size:
                    key = bleak_uuid(core.UUID.from_bytes(raw[:size]))
                    service_data[key] = raw[size:]
        manufacturer_data: dict[int, bytes] = {}
        for raw in data.get_all(core.AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA, raw=True):
            raw = bytes(raw)
            if len(raw) >= 2:
                manufacturer_data[int.from_bytes(raw[:2], "little")] = raw[2:]
        tx_powers = data.get_all(core.AdvertisingData.Type.TX_POWER_LEVEL, raw=True)
        tx_power = (
            int.from_bytes(bytes(tx_powers[0])[:1], "little", signed=True) if tx_powers else None
        )
        radio = self._radio
        rssi = advertisement.rssi
        if radio is not None and address in radio.rssi_dbm:
            rssi = radio.rssi_dbm[address]
        if not self.is_allowed_uuid(service_uuids):
            return
        adv = AdvertisementData(
            local_name=local_name,
            manufacturer_data=manufacturer_data,
            service_data=service_data,
            service_uuids=service_uuids,
            tx_power=tx_power,
            rssi=int(rssi),
            platform_data=(advertisement,),
        )
        device = self.create_or_update_device(address, address, local_name, advertisement, adv)
        self.call_detection_callbacks(device, adv)
