"""The follow-up jobs' queue in Redis: arq's queue (`Keys.arq_queue`), the jobs' ids
(`Keys.job`) and their send-once marks (`Keys.sent`). What the jobs do, and when, is
bot/domain/followups.py's.

Each job has an id made of what it is about (`<prefix>:delivery_check:<order>`), so arq
never queues it twice; a job marks itself sent *before* sending, so a worker that dies
mid-job and is retried cannot send it twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import arq.worker
from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix, retry_key_prefix
from arq.cron import cron
from arq.worker import Worker, func
from redis.exceptions import ResponseError

from bot.storage.store import Store

__all__ = ["JobQueue", "Worker", "forget_jobs"]
KEEP_RESULT = timedelta(days=7)  # how long a finished job's id keeps a twin from queueing
POLL_SECONDS = 0.2  # between a worker's looks for due jobs
Job = Callable[..., Awaitable[Any]]  # arq calls it with its context, then the job's arguments
_arq_redis_info = arq.worker.log_redis_info


async def _redis_info(redis: Any, log_func: Callable[[str], Any]) -> None:
    # arq logs the server's INFO at start; the in-process Redis has no INFO command.
    try:
        await _arq_redis_info(redis, log_func)
    except ResponseError:
        log_func("redis: the in-process Redis (nothing survives a restart)")


arq.worker.log_redis_info = _redis_info


class JobQueue:
    def __init__(self, store: Store) -> None:
        self.arq = ArqRedis(store.redis.connection_pool)  # the arq worker runs on it too
        self.queue = store.keys.arq_queue()
        self.redis = store.redis
        self.keys = store.keys

    async def enqueue(self, job: str, about: str, at: datetime, expires: timedelta,
                      *args: Any) -> bool:
        """Queue `job` for `at`; False when a job about the same is queued or done already."""
        queued = await self.arq.enqueue_job(job, *args, _job_id=self.keys.job(job, about),
                                            _queue_name=self.queue, _defer_until=at,
                                            _expires=expires)
        return queued is not None

    async def any_queued(self, job: str, about: str) -> bool:
        """A job whose id starts with `<job>:<about>:` is queued or running."""
        slices = self.keys.job(job, about) + ":*"
        return bool([job async for job, _ in self.arq.zscan_iter(self.queue, match=slices)])

    def name(self, job: str) -> str:
        """A cron job's name, which arq uses as its id."""
        return self.keys.job(job)

    def worker(self, functions: dict[str, Job], *, timeouts: dict[str, float],
               every_minute: dict[str, Job], burst: bool = False, jobs: int = -1) -> Worker:
        """The arq worker running these jobs by name (burst: run what is due, or `jobs` of
        it, then stop)."""
        return Worker(
            functions=[func(job, name=name, timeout=timeouts.get(name))  # type: ignore[arg-type]
                       for name, job in functions.items()],
            # Every minute, and once at start; not in a burst, which runs queued jobs only.
            cron_jobs=[] if burst else [cron(job, name=self.name(name),  # type: ignore[arg-type]
                                             run_at_startup=True)
                                        for name, job in every_minute.items()],
            redis_pool=self.arq, queue_name=self.queue, handle_signals=False, burst=burst,
            # A worker notices that its job ended only at its next poll, and a broadcast lane's
            # next slice waits for that: with one lane left (the others dead), polling once a
            # second lost 5-7% of the rate at its handovers. A poll is one cheap Redis call.
            poll_delay=0.05 if burst else POLL_SECONDS, keep_result=KEEP_RESULT, max_tries=3,
            job_timeout=60, max_burst_jobs=jobs,
            # One job at a time: a broadcast's lanes then land on different processes.
            max_jobs=1,
        )

    async def mark_sent(self, what: str, mark: str = "1") -> bool:
        """Mark `what` as handled; False when it was before (sent, tried or skipped)."""
        return bool(await self.redis.set(self.keys.sent(what), mark, nx=True))


async def forget_jobs(store: Store, customer_id: int) -> int:
    """Erase every job about the customer (/forget): queued birthday greetings, arq's
    results of those that ran, and their sent marks. Returns how many jobs were queued."""
    redis, queue = store.redis, store.keys.arq_queue()
    mine = store.keys.job("birthday", f"{customer_id}:")
    queued = [job async for job, _ in redis.zscan_iter(queue, match=f"{mine}*")]
    done = [key async for key in redis.scan_iter(match=f"{result_key_prefix}{mine}*")]
    marks = [key async for key in redis.scan_iter(
        match=store.keys.sent("birthday", f"{customer_id}:*"))]
    async with redis.pipeline(transaction=True) as pipe:
        for raw in queued:
            job = raw.decode() if isinstance(raw, bytes) else raw
            pipe.zrem(queue, job)
            pipe.delete(job_key_prefix + job, retry_key_prefix + job)
        if done or marks:
            pipe.delete(*done, *marks)
        await pipe.execute()
    return len(queued)
