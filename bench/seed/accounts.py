"""Stage "accounts": the people, the partners, the smart accounts with their VA trees (the big
account's deep one, the busy VA among it), and the roles."""
from __future__ import annotations

import datetime
import uuid

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission

from accounts.models import (
    HoldingMembership,
    Invitation,
    InvitationPurpose,
    Partner,
    PartnerKind,
    PartnerMembership,
    Role,
    SmartAccount,
    SmartAccountKind,
    SmartAccountRole,
    SmartAccountStatus,
    User,
    VirtualAccount,
    VirtualAccountRole,
)

from .. import dataset
from .plan import LEVEL_NAMES, LEVEL_SHARES, TEAM_NAMES, _Account, _allocate, _sha, _VA
from .sizes import HISTORY_DAYS


class AccountsStage:
    """Part of `seeder._Seeder`: plans and writes the accounts stage (reads `self.rng`, `self.size`, `self.now`)."""

    def plan_people_and_accounts(self) -> None:
        rng, size = self.rng, self.size
        self.users: list[tuple] = []  # (id, email, name, is_staff, date_joined)

        def user(email: str, name: str, *, staff: bool = False, joined: datetime.datetime | None = None) -> int:
            uid = len(self.users) + 1
            self.users.append((uid, email, name, staff, joined or self.now - datetime.timedelta(days=1200)))
            return uid

        self.staff_id = user("shipping@bench-vendor.example", "Bench Shipping Desk", staff=True)
        self.partner_admin_id = user(dataset.PARTNER_ADMIN, "Bench Partner Admin")
        self.order_desk = [self.partner_admin_id] + [
            user(f"orders{n}@bench-partner.example", f"Bench Order Desk {n}") for n in range(1, 5)
        ]
        self.partners = [(1, dataset.PARTNER_NAME, PartnerKind.DISTRIBUTOR)]
        self.partners += [(1 + n, f"Bench Reseller {n:02d}", PartnerKind.RESELLER) for n in range(1, 6)]
        self.memberships = [(self.partner_admin_id, 1, True)] + [(uid, 1, False) for uid in self.order_desk[1:]]
        for pid, name, _ in self.partners[1:]:
            self.memberships.append((user(f"admin@reseller{pid - 1:02d}.example", f"{name} Admin"), pid, True))
        self.resellers = [pid for pid, _, kind in self.partners if kind == PartnerKind.RESELLER]

        founded = self.now - datetime.timedelta(days=HISTORY_DAYS + 100)
        big_admin = user(dataset.BIG_ACCOUNT_ADMIN, "Bench Big Admin")
        self.big = _Account(
            1, dataset.BIG_ACCOUNT_NAME, dataset.BIG_ACCOUNT_DOMAIN, SmartAccountKind.CUSTOMER, SmartAccountStatus.ACTIVE,
            None, big_admin, big_admin, founded, founded, big_admin, dataset.BIG_ACCOUNT_ADMIN,
        )
        self.holding = _Account(
            2, dataset.HOLDING_ACCOUNT_NAME, "", SmartAccountKind.HOLDING, SmartAccountStatus.ACTIVE, 1, None,
            self.partner_admin_id, founded, founded, None, "",
        )
        self.accounts = [self.big, self.holding]
        self.customers = [self.big]
        for k in range(1, size.smart_accounts - 1):
            # Every tenth account shares the previous one's domain (several accounts per domain).
            domain = f"customer{k - 1 if k % 10 == 0 else k:03d}.example"
            status = SmartAccountStatus.ACTIVE
            if k % 33 == 3:
                status = SmartAccountStatus.NEW
            elif k % 97 == 50:
                status = SmartAccountStatus.SUSPENDED
            created = founded + datetime.timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23))
            admin_email = f"admin.{k:03d}@{domain}"
            admin = user(admin_email, f"Customer {k:03d} Admin", joined=created)
            by_partner = status == SmartAccountStatus.NEW or k % 5 == 0
            account = _Account(
                len(self.accounts) + 1, f"Bench Customer {k:03d}", domain, SmartAccountKind.CUSTOMER, status,
                1 if by_partner else None, admin, self.order_desk[k % len(self.order_desk)] if by_partner else admin,
                created, None if status == SmartAccountStatus.NEW else created, admin, admin_email,
            )
            self.accounts.append(account)
            self.customers.append(account)
        self.pool_accounts = [a for a in self.customers if a.status != SmartAccountStatus.NEW]
        self.new_accounts = [a for a in self.customers if a.status == SmartAccountStatus.NEW]

        # Trees: the big one level by level, the others shallow.
        self.vas: list[_VA] = []
        self.busy = self.plan_big_tree()
        for account in self.accounts[1:]:
            root = _VA(account, None, VirtualAccount.ROOT_NAME)
            if account.kind == SmartAccountKind.CUSTOMER and account.status != SmartAccountStatus.NEW:
                for team in sorted(rng.sample(TEAM_NAMES, rng.choice((0, 1, 2, 2, 3, 3, 4, 5)))):
                    child = _VA(account, root, team)
                    if rng.random() < 0.3:
                        for letter in "AB"[: rng.randint(1, 2)]:
                            _VA(account, child, f"Team {letter}")
            self.number_tree(root)
        self.va_by_id = {va.id: va for va in self.vas}

        # Roles.
        perms = {
            (p.content_type.model, p.codename): p.pk
            for p in Permission.objects.filter(content_type__app_label="accounts").select_related("content_type")
        }
        self.sa_roles: list[tuple] = []
        self.va_roles: list[tuple] = []

        def grant(account: _Account, user_id: int, role: str, *, va: _VA | None = None) -> None:
            granted = account.created_at + datetime.timedelta(minutes=5 + len(self.sa_roles) % 50)
            row_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            if va is None:
                self.sa_roles.append((row_id, user_id, perms[("smartaccount", role)], account.id, account.admin_id, granted))
            else:
                self.va_roles.append((row_id, user_id, perms[("virtualaccount", role)], va.id, account.admin_id, granted))

        grant(self.big, big_admin, Role.SA_ADMIN)
        grant(self.big, user(f"ops@{dataset.BIG_ACCOUNT_DOMAIN}", "Bench Big Operations"), Role.SA_USER)
        grant(self.big, user(f"auditor@{dataset.BIG_ACCOUNT_DOMAIN}", "Bench Big Auditor"), Role.SA_VIEWER)
        for n, region in enumerate(self.root_of(self.big).children, start=1):
            region_admin = user(f"region{n:02d}@{dataset.BIG_ACCOUNT_DOMAIN}", f"{region.name} Admin")
            grant(self.big, region_admin, Role.VA_ADMIN, va=region)
        for account in self.customers[1:]:
            if account.status == SmartAccountStatus.NEW:
                continue  # its contact becomes admin on activation
            grant(account, account.admin_id, Role.SA_ADMIN)
            if account.id % 3 == 0:
                local = account.admin_email.split("@")[0].replace("admin", "user")
                grant(account, user(f"{local}@{account.domain}", f"{account.name} User"), Role.SA_USER)
        self.email_of = {uid: email for uid, email, *_ in self.users}
        self.holding_members = [(self.holding.id, self.partner_admin_id, True), (self.holding.id, self.order_desk[1], False)]
        self.planned = (2 * len(self.users) + len(self.partners) + len(self.resellers) + len(self.memberships)
                        + len(self.accounts) + len(self.vas) + len(self.sa_roles) + len(self.va_roles)
                        + len(self.holding_members) + len(self.new_accounts))

    def root_of(self, account: _Account) -> _VA:
        return self.va_by_id[account.root_id]

    def plan_big_tree(self) -> _VA:
        """The big account's tree: `big_account_virtual_accounts` nodes, the deepest at level 6,
        sized by level like a real organisation (regions, countries, areas, sites, buildings,
        floors); the busy VA is an extra leaf among the areas."""
        rng, size, account = self.rng, self.size, self.big
        depth = size.big_account_max_depth
        root = _VA(account, None, VirtualAccount.ROOT_NAME)
        below = size.big_account_virtual_accounts - 2  # the root and the busy VA aside
        per_level = _allocate(below, LEVEL_SHARES[:depth])
        for i in range(depth):  # every level has a node (the tree reaches the full depth)
            if per_level[i] == 0:
                donor = max(range(depth), key=lambda j: per_level[j])
                per_level[donor] -= 1
                per_level[i] += 1
        levels: list[list[_VA]] = [[root]]
        busy = None
        for index, count in enumerate(per_level):
            parents = [p for p in levels[-1] if not p.leaf_only]
            prefix = LEVEL_NAMES[index]
            width = max(2, len(str(count)))
            layer = []
            for n in range(1, count + 1):
                # The first node of a level hangs under the first parent, so the chain reaches depth 6.
                parent = parents[0] if n == 1 else rng.choice(parents)
                layer.append(_VA(account, parent, f"{prefix} {n:0{width}d}"))
            if index == 2:  # level 3: the busy VA, a leaf under a country
                busy = _VA(account, parents[-1], dataset.BUSY_VIRTUAL_ACCOUNT_NAME)
                busy.leaf_only = True
                layer.append(busy)
            levels.append(layer)
        if busy is None:  # a tree too shallow for level 3 (never with the floors in `sizes`)
            busy = _VA(account, root, dataset.BUSY_VIRTUAL_ACCOUNT_NAME)
        self.number_tree(root)
        return busy

    def number_tree(self, root: _VA) -> None:
        """MPTT numbers, as django-mptt would give them: children in name order (the model's
        `order_insertion_by`), one tree per account (`tree_id` = the account's id); ids in lft order."""
        counter = 0
        stack: list[tuple[_VA, bool]] = [(root, False)]
        ordered = []
        while stack:
            node, done = stack.pop()
            counter += 1
            if done:
                node.rght = counter
                continue
            node.lft = counter
            node.id = len(self.vas) + 1
            self.vas.append(node)
            ordered.append(node)
            stack.append((node, True))
            for child in sorted(node.children, key=lambda c: c.name, reverse=True):
                stack.append((child, False))
        account = root.account
        account.root_id = root.id
        account.va_ids = [node.id for node in ordered]
        for n, node in enumerate(ordered):
            if node.parent is not None:
                node.created_at = account.created_at + datetime.timedelta(minutes=10 + n)

    def write_people_and_accounts(self) -> None:
        from allauth.account.models import EmailAddress

        db = self.db
        password = make_password(dataset.PASSWORD)  # hashed once: every bench user has this password
        db.load(User, ("id", "email", "name", "password", "is_staff", "is_superuser", "is_active", "date_joined"),
                ((uid, email, name, password, staff, False, True, joined) for uid, email, name, staff, joined in self.users))
        db.load(EmailAddress, ("user", "email", "verified", "primary"),
                ((uid, email, True, True) for uid, email, *_ in self.users))
        db.load(Partner, ("id", "name", "kind", "created_at"),
                ((pid, name, kind, self.big.created_at) for pid, name, kind in self.partners))
        db.load(Partner.linked_resellers.through, ("from_partner", "to_partner"), ((1, pid) for pid in self.resellers))
        db.load(PartnerMembership, ("user", "partner", "is_admin", "created_at"),
                ((uid, pid, admin, self.big.created_at) for uid, pid, admin in self.memberships))
        # The default VA references a VA written just after: the constraint is checked at commit.
        db.load(SmartAccount, ("id", "name", "domain", "kind", "status", "partner", "contact", "requested_by",
                               "default_virtual_account", "created_at", "activated_at"),
                ((a.id, a.name, a.domain, a.kind, a.status, a.partner_id, a.contact_id, a.requested_by_id, a.root_id,
                  a.created_at, a.activated_at) for a in self.accounts))
        db.load(VirtualAccount, ("id", "smart_account", "parent", "name", "description", "created_at", "lft", "rght",
                                 "tree_id", "level"),
                ((va.id, va.account.id, va.parent.id if va.parent else None, va.name, "", va.created_at, va.lft, va.rght,
                  va.tree_id, va.level) for va in self.vas))
        fields = ("id", "user", "permission", "content_object", "granted_by", "granted_at")
        db.load(SmartAccountRole, fields, self.sa_roles)
        db.load(VirtualAccountRole, fields, self.va_roles)
        db.load(HoldingMembership, ("smart_account", "user", "notify", "created_at"),
                ((sa, uid, notify, self.holding.created_at) for sa, uid, notify in self.holding_members))
        db.load(Invitation, ("key", "purpose", "email", "smart_account", "object_key", "created_at", "expires_at"),
                ((_sha(f"bench-activation-{a.id}")[:43], InvitationPurpose.ACTIVATE_ACCOUNT, a.admin_email, a.id, "",
                  a.created_at, a.created_at + datetime.timedelta(days=14)) for a in self.new_accounts))
