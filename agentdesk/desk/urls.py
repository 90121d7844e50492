"""The desk's URLs, under /desk/ (namespace `desk`); each view is named as its URL is."""

from django.urls import path

from agentdesk.desk import attempts, views

app_name = "desk"
urlpatterns = [
    path("call", views.call, name="call"),
    path("search/", views.search, name="search"),
    path("callers/open/", views.open_caller, name="open-caller"),
    path("callers/new/", views.new_caller, name="new-caller"),
    path("callers/<int:customer_id>/", views.caller, name="caller"),
    path("callers/<int:customer_id>/orders/", views.new_order, name="new-order"),
    path("address-fields/", views.address_fields, name="address-fields"),
    path("orders/<int:order_id>/", views.order, name="order"),
    path("orders/<int:order_id>/details/", views.details, name="details"),
    path("orders/<int:order_id>/start/", views.start, name="start"),
    path("orders/<int:order_id>/send-link/", views.send_link, name="send-link"),
    path("payments/<int:payment_id>/status/", attempts.payment_status, name="payment-status"),
    path("payments/<int:payment_id>/retry/", attempts.retry, name="retry"),
    path("payments/<int:payment_id>/retry/flows/", attempts.retry_flows, name="retry-flows"),
    path("payments/<int:payment_id>/reopen/", attempts.reopen, name="reopen"),
    path("payments/<int:payment_id>/abandon/", attempts.abandon, name="abandon"),
]
