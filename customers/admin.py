from django.contrib import admin

from customers.models import BillingAddress, Customer


class BillingAddressInline(admin.StackedInline):
    model = BillingAddress
    can_delete = False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["full_name", "crm_id", "email", "phone", "created_at"]
    search_fields = ["first_name", "last_name", "email", "phone", "crm_id"]
    inlines = [BillingAddressInline]
