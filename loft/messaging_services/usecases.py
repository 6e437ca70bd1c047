"""The scenarios a Messaging Service may declare (its ``usecase``), as ``GET /v1/Services/Usecases`` lists them."""

from __future__ import annotations

from typing import Final

#: The service's default when it declares none.
UNDECLARED: Final = "undeclared"

#: (usecase, description, purpose), in Twilio's order.
USECASES: Final[tuple[tuple[str, str, str], ...]] = (
    ("notifications", "Transactional notifications and Alerts for any Delivery, Account, Reminder, Order, Fraud, "
                      "Security, Public Service, or Emergency announcements.", "Notify my users."),
    ("marketing", "Marketing messages may contain product information, offers, and calls to action to engage with "
                  "your organization.", "Market my services."),
    ("verification", "Verification codes and one-time passwords sent to users to verify their identity.",
     "Verify users."),
    ("discussion", "Two-way conversations between your organization and your users, such as customer care and "
                   "support.", "Assist my users."),
    ("poll", "Surveys, polls and voting campaigns sent to users to collect their answers.", "Poll my users."),
    (UNDECLARED, "A messaging scenario that does not fit the other use cases, or that is not yet decided.",
     "Undeclared."),
)

NAMES: Final = tuple(name for name, _, _ in USECASES)


def render() -> dict[str, list[dict[str, str]]]:
    return {"usecases": [{"usecase": name, "description": description, "purpose": purpose}
                         for name, description, purpose in USECASES]}
