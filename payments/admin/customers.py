"""Customers in the supervisors' admin: browsable like the payment history, each listing its
orders (registered here, above both customers and orders)."""

from django.contrib import admin

from agentdesk.staff.admin_base import CardNumberFields, LargeTableAdmin, ReadOnly, zoned
from customers.models import BillingAddress, Customer
from customers.selectors import customer_search
from payments.models import Order


class BillingAddressInline(CardNumberFields, admin.StackedInline):
    model = BillingAddress
    can_delete = False


class OrderInline(ReadOnly, admin.TabularInline):
    """The customer's orders, newest first, each linking to its payment attempts."""

    model = Order
    readonly_fields = ("reference", "amount", "currency", "status", "created", "paid")
    fields = readonly_fields
    created = zoned("created_at", "created")
    paid = zoned("paid_at", "paid")
    show_change_link = True
    extra = 0
    can_delete = False


@admin.register(Customer)
class CustomerAdmin(LargeTableAdmin):
    list_display = ["full_name", "crm_id", "email", "phone", "created"]
    created = zoned("created_at", "created")
    search_fields = ["first_name", "last_name", "email", "phone", "crm_id"]
    search_help_text = (
        "The start of a first, last or full name or email (at least 3 characters), or a "
        "whole phone number or CRM id (not case-sensitive)."
    )
    sortable_by = ()
    search_filter = staticmethod(customer_search)
    inlines = [BillingAddressInline, OrderInline]
