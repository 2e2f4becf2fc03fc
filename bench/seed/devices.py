"""Stage "devices": registration tokens, devices spread over the VAs (the busy VA a fixed share)
and what each device uses."""
from __future__ import annotations

import datetime
from collections import defaultdict

from licensing.models import Device, DeviceUsage, RegistrationToken

from .db import _bulk_load
from .plan import USAGE_COUNTS, _allocate, _Product, _sha
from .sizes import BIG_ACCOUNT_DEVICE_SHARE, HISTORY_DAYS, SILENT_SHARE


class DevicesStage:
    """Part of `seeder._Seeder`: plans and writes the devices stage (after the accounts and the catalogue)."""

    def plan_devices(self) -> None:
        """Devices per VA (the busy VA a fixed share, a quarter of all in the big account), each
        using 1–4 of its VA's usual products; `in_use` per (VA, product) as the app sums it."""
        rng, size = self.rng, self.size
        busy = self.busy
        big_others = [self.va_by_id[i] for i in self.big.va_ids if i != busy.id]
        holders = rng.sample(big_others, max(1, round(len(big_others) * 0.6)))
        # No other VA of the big account comes near the busy one (at most half its devices).
        cap = max(1, size.busy_devices // 2)
        big_total = max(0, min(round(size.devices * BIG_ACCOUNT_DEVICE_SHARE) - size.busy_devices, cap * len(holders)))
        per_va: dict[int, int] = {busy.id: size.busy_devices}
        weights = [rng.lognormvariate(0, 1) for _ in holders]
        for va, n in zip(holders, _allocate(big_total, weights, cap=cap)):
            per_va[va.id] = n
        others = [
            (self.va_by_id[i], account_weight * rng.lognormvariate(0, 0.7))
            for account in self.pool_accounts if account is not self.big
            for account_weight in (rng.lognormvariate(0, 1.2),)
            for i in account.va_ids
        ]
        rest = size.devices - sum(per_va.values())
        for (va, _), n in zip(others, _allocate(rest, [w for _, w in others])):
            per_va[va.id] = n
        assert sum(per_va.values()) == size.devices, "devices allocated"

        # Each VA uses a handful of products; the busy VA many.
        smart_weights = [p.weight for p in self.smart]
        self.profiles: dict[int, list[_Product]] = {}
        for va_id, n in per_va.items():
            if n == 0:
                continue
            k = min(len(self.smart), 24 if va_id == busy.id else rng.randint(4, 10))
            chosen: dict[int, _Product] = {}
            while len(chosen) < k:
                for p in rng.choices(self.smart, weights=smart_weights, k=k - len(chosen)):
                    chosen[p.id] = p
            self.profiles[va_id] = sorted(chosen.values(), key=lambda p: p.id)

        # One registration token per VA with devices, valid for a year some years ago (the devices
        # registered with it then), and a fresh one in the busy VA.
        self.tokens: list[tuple] = []
        self.token_of: dict[int, int] = {}
        windows: dict[int, datetime.datetime] = {}
        for va_id in sorted(va_id for va_id, n in per_va.items() if n):
            created = self.now - datetime.timedelta(days=rng.uniform(400, HISTORY_DAYS - 60))
            token_id = len(self.tokens) + 1
            self.tokens.append((token_id, va_id, "Devices", f"slrt_{token_id:07d}", _sha(f"bench-token-{token_id}"),
                                self.va_by_id[va_id].account.admin_id, created, created + datetime.timedelta(days=365),
                                None, per_va[va_id]))
            self.token_of[va_id] = token_id
            windows[va_id] = created
        token_id = len(self.tokens) + 1
        self.tokens.append((token_id, busy.id, "New switches", f"slrt_{token_id:07d}", _sha(f"bench-token-{token_id}"),
                            self.big.admin_id, self.now - datetime.timedelta(days=5),
                            self.now + datetime.timedelta(days=25), 500, 0))

        # Devices, with how many products each uses (adjusted so the usage rows come out exact).
        self.devices: list[tuple] = []
        caps: list[int] = []
        device_id = 0
        silent_before = self.now - datetime.timedelta(days=31)
        for va_id in sorted(per_va):
            for _ in range(per_va[va_id]):
                device_id += 1
                registered = windows[va_id] + datetime.timedelta(days=rng.uniform(0, 365))
                if rng.random() < SILENT_SHARE:
                    contact = registered + (silent_before - registered) * rng.uniform(0.5, 1.0)
                else:
                    contact = self.now - datetime.timedelta(hours=rng.uniform(0, 20))
                self.devices.append((device_id, va_id, registered, contact))
                caps.append(min(4, len(self.profiles[va_id])))
        uses = [min(cap, rng.choice((1, 2, 2, 3, 3, 3, 4, 4))) for cap in caps]
        diff = size.usage_rows - sum(uses)
        order = list(range(len(uses)))
        while diff:
            rng.shuffle(order)
            moved = False
            for i in order:
                if diff > 0 and uses[i] < caps[i]:
                    uses[i] += 1
                    diff -= 1
                    moved = True
                elif diff < 0 and uses[i] > 1:
                    uses[i] -= 1
                    diff += 1
                    moved = True
                if not diff:
                    break
            if not moved:
                break
        self.usage: list[tuple] = []
        self.in_use: dict[tuple[int, int], int] = defaultdict(int)
        for (device_id, va_id, _, contact), n in zip(self.devices, uses):
            for product in rng.sample(self.profiles[va_id], n):
                count = rng.choice(USAGE_COUNTS)
                self.usage.append((device_id, product.id, count, contact))
                self.in_use[(va_id, product.id)] += count
        self.planned = len(self.tokens) + len(self.devices) + len(self.usage)

    def write_devices(self) -> None:
        with _bulk_load(RegistrationToken, Device, DeviceUsage):
            self._write_devices()

    def _write_devices(self) -> None:
        db = self.db
        db.load(RegistrationToken, ("id", "virtual_account", "description", "prefix", "token_hash", "created_by",
                                    "created_at", "expires_at", "max_uses", "use_count"), self.tokens)
        va_by_id, token_of = self.va_by_id, self.token_of
        db.load(Device, ("id", "virtual_account", "serial_number", "product_id", "hostname", "secret_hash",
                         "registered_with", "registered_at", "last_contact_at"),
                ((device_id, va_id, f"BNC{device_id:08d}", f"BN-HW-{device_id % 97:02d}",
                  f"dev-{device_id:06d}.{va_by_id[va_id].account.domain}", _sha(f"bench-device-{device_id}"),
                  token_of[va_id], registered, contact)
                 for device_id, va_id, registered, contact in self.devices))
        db.load(DeviceUsage, ("device", "product", "count", "updated_at"), self.usage)
