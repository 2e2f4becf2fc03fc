"""The bare SQL each timed page is compared with, its parameters, and the connection it runs on
(psycopg, as Django uses it)."""
from __future__ import annotations

import datetime

# Each statement answers the question its page answers, for the benchmark's users, in one round
# trip: the rows the page shows (its first page, in its order) and what it counts (the pagers'
# totals). Each includes the caller's right to see the data (an SA role on the account; for the
# partner pages, the partner and holding-account memberships), as the page checks it. What a page
# shows besides its main table (navigation, filter choices, buttons that depend on finer rights)
# is not in the SQL: that is the page's overhead the ratio is meant to show.

SA_ROLE = """EXISTS (
    SELECT 1 FROM accounts_smartaccountrole r JOIN auth_permission p ON p.id = r.permission_id
    WHERE r.user_id = %(user)s AND r.content_object_id = {sa}
      AND p.codename IN ('sa_admin', 'sa_user', 'sa_viewer'))"""

ACTIVE_ENTITLEMENT = """e.quantity > 0 AND (e.starts_on IS NULL OR e.starts_on <= %(today)s)
      AND (e.ends_on IS NULL OR e.ends_on >= %(today)s)"""

# Holding accounts the user may move lines out of: a member, or an admin of its partner.
HOLDING_ACCOUNTS = """SELECT h.id FROM accounts_smartaccount h
    WHERE h.kind = 'holding' AND (
        EXISTS (SELECT 1 FROM accounts_holdingmembership m WHERE m.smart_account_id = h.id AND m.user_id = %(user)s)
        OR EXISTS (SELECT 1 FROM accounts_partnermembership pm
                   WHERE pm.partner_id = h.partner_id AND pm.user_id = %(user)s AND pm.is_admin))"""

BARE_SQL: dict[str, str] = {
    # Account home (/sa/{id}/): every Virtual Account of the account in tree order with its own
    # active licenses (entitlement quantities), devices and products in shortage, and the
    # licenses and devices of its whole subtree. The roll-up walks each VA's own counts up its
    # ancestors (a recursive CTE over parent ids: as many steps as the tree is deep) rather than
    # joining every VA with every VA of its lft/rght range (quadratic on a 2,000-VA tree). The
    # aggregates join the account's VAs by table, not by CTE: on a CTE PostgreSQL guesses row
    # counts (a billion here) and then spends seconds JIT-compiling the plan.
    "account_tree": f"""
WITH RECURSIVE own AS MATERIALIZED (
    SELECT v.id, v.parent_id, v.name, v.tree_id, v.lft, v.level,
           COALESCE(lic.quantity, 0) AS licenses, COALESCE(dev.n, 0) AS devices, COALESCE(sh.n, 0) AS shortages
    FROM accounts_virtualaccount v
    LEFT JOIN (SELECT e.virtual_account_id, SUM(e.quantity) AS quantity FROM licensing_entitlement e
               JOIN accounts_virtualaccount ev ON ev.id = e.virtual_account_id
               WHERE ev.smart_account_id = %(sa)s AND {ACTIVE_ENTITLEMENT}
               GROUP BY e.virtual_account_id) lic ON lic.virtual_account_id = v.id
    LEFT JOIN (SELECT d.virtual_account_id, COUNT(*) AS n FROM licensing_device d
               JOIN accounts_virtualaccount dv ON dv.id = d.virtual_account_id
               WHERE dv.smart_account_id = %(sa)s GROUP BY d.virtual_account_id) dev ON dev.virtual_account_id = v.id
    LEFT JOIN (SELECT s.virtual_account_id, COUNT(*) AS n FROM licensing_shortage s
               JOIN accounts_virtualaccount sv ON sv.id = s.virtual_account_id
               WHERE sv.smart_account_id = %(sa)s AND s.cleared_at IS NULL
               GROUP BY s.virtual_account_id) sh ON sh.virtual_account_id = v.id
    WHERE v.smart_account_id = %(sa)s AND {SA_ROLE.format(sa="%(sa)s")}
), up AS (
    SELECT own.id AS ancestor, own.parent_id AS next, own.licenses, own.devices FROM own
    UNION ALL
    SELECT p.id, p.parent_id, up.licenses, up.devices FROM up JOIN accounts_virtualaccount p ON p.id = up.next
)
SELECT own.id, own.parent_id, own.name, own.level, own.licenses, own.devices, own.shortages,
       sub.licenses AS subtree_licenses, sub.devices AS subtree_devices
FROM own JOIN (SELECT ancestor, SUM(licenses) AS licenses, SUM(devices) AS devices FROM up GROUP BY ancestor) sub
     ON sub.ancestor = own.id
ORDER BY own.tree_id, own.lft
""",
    # A VA's license table (/licensing/va/{id}/licenses/, and the API's ?subtree=1): per product
    # over the VA and its subtree, purchased (active entitlements) and in use (devices' usage),
    # with available and shortage added up per VA (each VA's pool is its own), in family/SKU order.
    "licenses": f"""
WITH scope AS (
    SELECT v.id FROM accounts_virtualaccount v JOIN accounts_virtualaccount top ON top.id = %(va)s
    WHERE v.smart_account_id = top.smart_account_id AND v.tree_id = top.tree_id
      AND v.lft >= top.lft AND v.rght <= top.rght AND {SA_ROLE.format(sa="top.smart_account_id")}
), purchased AS (
    SELECT e.virtual_account_id AS va, e.product_id AS product, SUM(e.quantity) AS n FROM licensing_entitlement e
    WHERE e.virtual_account_id IN (SELECT id FROM scope) AND {ACTIVE_ENTITLEMENT}
    GROUP BY 1, 2
), in_use AS (
    SELECT d.virtual_account_id AS va, u.product_id AS product, SUM(u.count) AS n
    FROM licensing_deviceusage u JOIN licensing_device d ON d.id = u.device_id
    WHERE d.virtual_account_id IN (SELECT id FROM scope) AND u.count > 0
    GROUP BY 1, 2
), pools AS (
    SELECT COALESCE(p.product, i.product) AS product, COALESCE(p.n, 0) AS purchased, COALESCE(i.n, 0) AS in_use
    FROM purchased p FULL JOIN in_use i ON i.va = p.va AND i.product = p.product
)
SELECT pr.id, pr.sku, pr.name, pr.family, SUM(pools.purchased) AS purchased, SUM(pools.in_use) AS in_use,
       SUM(GREATEST(pools.purchased - pools.in_use, 0)) AS available, SUM(GREATEST(pools.in_use - pools.purchased, 0)) AS shortage
FROM pools JOIN licensing_product pr ON pr.id = pools.product
GROUP BY pr.id
ORDER BY pr.family, pr.sku
""",
    # A VA's device list (/licensing/va/{id}/devices/, and the API's ?subtree=1): the first page
    # of the devices of the VA and its subtree by serial number, each with its VA's name and its
    # usage per product, and how many devices there are (the pager's total).
    "devices": f"""
WITH scope AS (
    SELECT v.id, v.name FROM accounts_virtualaccount v JOIN accounts_virtualaccount top ON top.id = %(va)s
    WHERE v.smart_account_id = top.smart_account_id AND v.tree_id = top.tree_id
      AND v.lft >= top.lft AND v.rght <= top.rght AND {SA_ROLE.format(sa="top.smart_account_id")}
), page AS (
    SELECT d.id, d.serial_number, d.hostname, d.product_id, d.last_contact_at, d.virtual_account_id
    FROM licensing_device d WHERE d.virtual_account_id IN (SELECT id FROM scope)
    ORDER BY d.serial_number, d.id LIMIT %(limit)s
)
SELECT page.id, page.serial_number, page.hostname, page.product_id, page.last_contact_at, scope.name,
       (SELECT COUNT(*) FROM licensing_device d WHERE d.virtual_account_id IN (SELECT id FROM scope)) AS total,
       (SELECT json_agg(json_build_array(pr.sku, u.count) ORDER BY pr.sku)
        FROM licensing_deviceusage u JOIN licensing_product pr ON pr.id = u.product_id
        WHERE u.device_id = page.id AND u.count > 0) AS usage
FROM page JOIN scope ON scope.id = page.virtual_account_id
ORDER BY page.serial_number, page.id
""",
    # The order list (/orders/, /api/v1/orders/) of a partner user: the first page of the orders
    # they may see (their partner's, those naming it as reseller, a distributor's linked
    # resellers', those with a line in their holding accounts), newest first, each with its
    # partner and its lines (product, account), and how many orders there are.
    "orders": f"""
WITH mine AS (
    SELECT pm.partner_id FROM accounts_partnermembership pm WHERE pm.user_id = %(user)s
), resellers AS (
    SELECT l.to_partner_id FROM accounts_partner_linked_resellers l JOIN accounts_partner p ON p.id = l.from_partner_id
    WHERE l.from_partner_id IN (SELECT partner_id FROM mine) AND p.kind = 'distributor'
), holding AS ({HOLDING_ACCOUNTS}
), visible AS (
    SELECT o.id, o.placed_at FROM orders_order o
    WHERE o.partner_id IN (SELECT partner_id FROM mine) OR o.reseller_id IN (SELECT partner_id FROM mine)
       OR o.partner_id IN (SELECT to_partner_id FROM resellers)
       OR EXISTS (SELECT 1 FROM orders_orderline l WHERE l.order_id = o.id
                  AND (l.smart_account_id IN (SELECT id FROM holding) OR l.held_in_id IN (SELECT id FROM holding)))
), page AS (
    SELECT id FROM visible ORDER BY placed_at DESC, id DESC LIMIT %(limit)s
)
SELECT o.id, o.number, o.placed_at, o.end_customer_name, o.end_customer_email, pa.name AS partner,
       (SELECT COUNT(*) FROM visible) AS total,
       (SELECT json_agg(json_build_array(l.number, l.quantity, pr.sku, l.state, sa.name) ORDER BY l.number)
        FROM orders_orderline l JOIN licensing_product pr ON pr.id = l.product_id
        LEFT JOIN accounts_smartaccount sa ON sa.id = l.smart_account_id
        WHERE l.order_id = o.id) AS lines
FROM page JOIN orders_order o ON o.id = page.id JOIN accounts_partner pa ON pa.id = o.partner_id
ORDER BY o.placed_at DESC, o.id DESC
""",
    # The holding-account inbox (/orders/holding/): the first page of the lines held in the
    # holding accounts the user may move lines out of, by account name and newest order first,
    # each with its order number, product and account, and how many lines are held.
    "held_lines": f"""
WITH holding AS ({HOLDING_ACCOUNTS}
), held AS (
    SELECT l.id FROM orders_orderline l WHERE l.state = 'held' AND l.smart_account_id IN (SELECT id FROM holding)
)
SELECT l.id, o.number, l.number, pr.sku, pr.name, pr.term_months, l.quantity, l.shipped_on, l.starts_on, l.ends_on,
       sa.name AS holding_account, pa.name AS partner, (SELECT COUNT(*) FROM held) AS total
FROM orders_orderline l
JOIN orders_order o ON o.id = l.order_id
JOIN licensing_product pr ON pr.id = l.product_id
JOIN accounts_smartaccount sa ON sa.id = l.smart_account_id
JOIN accounts_partner pa ON pa.id = o.partner_id
WHERE l.id IN (SELECT id FROM held)
ORDER BY sa.name, o.placed_at DESC, o.id, l.number
LIMIT %(limit)s
""",
    # The event log of an account (/licensing/sa/{id}/events/, /api/v1/smart-accounts/{id}/events/):
    # the first page of its events, newest first, with their VA's name, and how many there are.
    "events": f"""
SELECT e.id, e.created_at, e.action, e.actor_label, e.object_type, e.object_id, e.object_repr, e.detail, v.name,
       (SELECT COUNT(*) FROM accounts_event c WHERE c.smart_account_id = %(sa)s) AS total
FROM accounts_event e LEFT JOIN accounts_virtualaccount v ON v.id = e.virtual_account_id
WHERE e.smart_account_id = %(sa)s AND {SA_ROLE.format(sa="%(sa)s")}
ORDER BY e.created_at DESC, e.id DESC
LIMIT %(limit)s
""",
    # The account's Virtual Accounts as a flat list (/api/v1/smart-accounts/{id}/virtual-accounts/):
    # the first page in tree order, and how many there are.
    "virtual_accounts": f"""
SELECT v.id, v.name, v.description, v.parent_id, v.level, v.created_at,
       (SELECT COUNT(*) FROM accounts_virtualaccount c WHERE c.smart_account_id = %(sa)s) AS total
FROM accounts_virtualaccount v
WHERE v.smart_account_id = %(sa)s AND {SA_ROLE.format(sa="%(sa)s")}
ORDER BY v.tree_id, v.lft
LIMIT %(limit)s
""",
}


def sql_params(name: str, *, user: int, smart_account: int | None = None, virtual_account: int | None = None,
               limit: int | None = None, today: datetime.date | None = None) -> dict:
    """The parameters of a BARE_SQL statement (those it does not name are left out)."""
    from django.utils import timezone

    params = {"user": user, "sa": smart_account, "va": virtual_account, "limit": limit,
              "today": today or timezone.localdate()}
    return {key: value for key, value in params.items() if f"%({key})s" in BARE_SQL[name]}


def sql_connect(database_url: str, pg_options: str | None = None):
    import psycopg

    # As Django uses psycopg: autocommit, no server-side prepared statements; the same
    # PostgreSQL options as the server's connections.
    extra = {"options": pg_options} if pg_options else {}
    return psycopg.connect(database_url, autocommit=True, prepare_threshold=None, **extra)
