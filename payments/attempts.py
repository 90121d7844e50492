"""A new payment attempt and the VCC session it opens: the row (state `starting`, its event
and the audit entry), made under the order's lock so an order never has two live attempts, and
the session asked of VCC for it (on the phone, or a payment link texted to the caller).
services.start_payment calls both and moves the attempt on from there."""

from django.conf import settings
from django.db import IntegrityError, transaction

from agentdesk.shared import logcontext
from agentdesk.shared.text import fit
from agentdesk.staff import audit
from agentdesk.staff.models import Agent, AuditEntry
from payments.models import Order, Payment, PaymentEvent, PaymentFlow
from payments.orders import PaymentBlocked, blocking_reason, order_values
from payments.vcc.client import client_for
from payments.vcc.payload import payment_data
from payments.vcc.types import NewSession

State = Payment.State
Source = PaymentEvent.Source


def new_attempt(
    *,
    order: Order,
    flow: PaymentFlow,
    agent: Agent,
    retry_of: Payment | None,
    interaction_id: str,
    link_to: str,
) -> Payment:
    """The attempt's row, `starting`, with its first event and audit entry. Raises
    PaymentBlocked when the order cannot take a payment now or the flow cannot make this one."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        reason = blocking_reason(order)
        if reason:
            raise PaymentBlocked(reason)
        if not flow.is_active:
            raise PaymentBlocked(f"The payment flow '{flow.name}' is switched off.")
        if link_to and not flow.allows_links:
            raise PaymentBlocked(f"The payment flow '{flow.name}' does not send payment links.")
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    order=order,
                    flow=flow,
                    agent=agent,
                    request_id=logcontext.request_id.get(),
                    interaction_id=fit(Payment, "interaction_id", interaction_id),
                    kind=Payment.Kind.LINK if link_to else Payment.Kind.PHONE,
                    link_phone=link_to,
                )
        except IntegrityError:
            raise PaymentBlocked(
                blocking_reason(order) or "Another payment for this order is starting."
            ) from None
        PaymentEvent.objects.create(
            payment=payment,
            source=Source.AGENT,
            kind=PaymentEvent.Kind.STATE_CHANGED,
            to_state=State.STARTING,
            message=(f"Retry of attempt #{retry_of.pk}" if retry_of else "Payment started")
            + (" by a payment link" if link_to else ""),
            actor=agent.user,
            data={"flow": flow.name, "staging": flow.is_staging, "kind": payment.kind},
        )
        audit.record(
            AuditEntry.Action.PAYMENT_RETRIED if retry_of else AuditEntry.Action.PAYMENT_STARTED,
            actor=agent.user,
            target=order.reference,
            payment=payment.pk,
            flow=flow.name,
            kind=payment.kind,
        )
    return payment


def open_session(*, order: Order, flow: PaymentFlow, agent: Agent, link_to: str) -> NewSession:
    """Ask VCC for the attempt's session: a phone session, or with `link_to` a digital session
    whose link VCC texts to that mobile. Raises VccError or AccountConfigError."""
    data = payment_data({**order_values(order), "mobile": link_to}, flow.payment_data_keys)
    config, vcc_agent = flow.account_configuration_id, agent.vcc_agent_id
    client = client_for(flow.account)
    if link_to:
        return client.create_digital_session(
            agent_id=vcc_agent, payment_data=data, account_configuration_id=config
        )
    return client.create_session(
        agent_id=vcc_agent,
        payment_data=data,
        account_configuration_id=config,
        skip_call_transfer=settings.VCC_SKIP_CALL_TRANSFER,
    )
