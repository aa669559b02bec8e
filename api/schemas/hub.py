"""TMF688 hub registration: a callback URL and the event types wanted."""

from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field


class HubRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callback: AnyHttpUrl
    # TMF688 style: "eventType=service.changed,work_order.created"; empty: every event.
    query: str | None = Field(None, examples=["eventType=service.changed"])

    def event_types(self) -> list[str]:
        if not self.query:
            return []
        name, _, values = self.query.partition("=")
        if name.strip() != "eventType" or not values.strip():
            raise ValueError("query must read eventType=<type>[,<type>...]")
        return [v.strip() for v in values.split(",") if v.strip()]


def hub_document(subscription: Any, with_secret: bool = False) -> dict[str, Any]:
    types = list(subscription.event_types)
    body = {"id": str(subscription.id), "callback": subscription.callback,
            "query": f"eventType={','.join(types)}" if types else None,
            "isp": subscription.isp_id}
    if with_secret:
        body["secret"] = subscription.secret
    return body
