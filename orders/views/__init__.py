"""Pages of the orders app (mounted under /orders/): place an order, the order list and an
order's detail (staff ship from it), the holding-account inbox with its bulk move, and the end
customer's choice of account for delegated lines. Each view binds a form, calls one service and
redirects; the htmx fragments (account search, Virtual Account options, the inline account
forms) only feed the forms. Who may see what comes from orders.selectors and accounts.permissions.

One module per area; orders.urls imports the views from here."""
from .delegated import delegated_line_assign, delegated_line_choose, delegated_line_list
from .detail import ORDERS_PER_PAGE, order_detail, order_list, order_ship
from .holding import LINES_PER_PAGE, held_line_list, held_line_move
from .pickers import account_request_inline, account_search, holding_account_create_inline, virtual_account_options
from .place import order_place
