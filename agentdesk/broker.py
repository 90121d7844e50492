"""The Redis broker transport the worker and the web use: kombu's, with one fix.

When the broker connection drops while a late-acknowledged task is running, Celery's consumer
first `collect()`s the dead connection (which detaches kombu's transport from its settings)
and then `close()`s it. Closing the channel tries to put the unacknowledged message back, and
an acknowledgement sent later by a task that outlived the connection goes to the same channel:
both rebuild the channel's Redis pool from the detached settings and fail with
AttributeError("'NoneType' object has no attribute 'hostname'") in kombu's `_connparams`. That
is not a connection error, so Celery calls it unrecoverable and the worker stops taking tasks
without exiting (kombu 5.7.0, celery 5.7.0, the newest releases; no setting avoids it).

Here that case is a connection error, which kombu and Celery already handle: the close and the
acknowledgement are given up (logged), the consumer reconnects. Nothing is lost: the message
is either gone with the Redis that restarted (the sweep re-arms its payment) or still in
Redis's unacked index, from which any worker restores it after the visibility timeout.
"""

from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection.client is None:
            raise RedisConnectionError("the broker connection this channel belonged to is closed")
        params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]
        return params


class Transport(kombu_redis.Transport):
    Channel = Channel
