"""The supervisors' and administrators' admin of payments, orders, customers, flows and webhook
deliveries; each module registers its own (Django imports this package)."""

from payments.admin import customers, orders, payments, webhooks

__all__ = ["customers", "orders", "payments", "webhooks"]
