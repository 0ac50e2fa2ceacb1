"""The device agent: phones on one side, the TapCraft API on the other.

The agent runs three kinds of threads:

1. Heartbeat: every few seconds, list the phones through the adb server,
   re-connect the Wi-Fi phones named in the settings, and report the phones
   to the API. A busy phone that left the list stops its job as
   device_disconnected, even while the job is only waiting.
2. Claim: long-poll the API for a job on the phones that are free; every job
   gets a runner thread of its own, so each phone runs one job at a time and
   the phones run in parallel.
3. Job runner: download the job's images, run the script on its phone and,
   meanwhile, send the job heartbeat every third of `heartbeat_seconds`
   (which may ask for a stop, or answer 403: the job is no longer ours and
   is abandoned) and post progress and log lines about once a second. The
   result is kept and posted until the API takes it or answers 403.

Stopping (SIGTERM): claiming ends, every running job is asked to stop and is
reported as agent_lost so that the API retries it elsewhere, and results are
delivered for up to `shutdown_grace_s` before `run` returns.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence

from chalicelib.protocol import (
    MAX_DEVICES,
    MAX_LOG_LINES,
    DeviceReport,
    JobAssignment,
    JobResult,
    LogLine,
)
from device_agent.client import ApiClient
from device_agent.device import AdbServer, DeviceInfo
from device_agent.errors import (
    ApiError,
    ApiUnavailableError,
    DeviceError,
    JobLostError,
)
from device_agent.retry import Backoff
from device_agent.runtime import RunHooks, run_script
from device_agent.settings import AgentSettings

logger = logging.getLogger(__name__)

API_RETRY_INITIAL_S = 0.5
API_RETRY_MAX_S = 30.0
EVENTS_FLUSH_S = 1.0
MIN_JOB_HEARTBEAT_S = 0.2
ASSET_ATTEMPTS = 5
# Log lines kept while the API cannot take them; older ones are dropped.
MAX_BUFFERED_LOGS = 1000
THREAD_JOIN_S = 5.0


class Agent:
    """Claims jobs for the phones behind one adb server and runs them."""

    def __init__(self, settings: AgentSettings, api: ApiClient, adb: AdbServer):
        self.settings = settings
        self._api = api
        self._adb = adb
        self._stopping = threading.Event()
        self._gave_up = threading.Event()
        self._lock = threading.Lock()
        self._devices: dict[str, DeviceInfo] = {}
        self._runners: dict[str, JobRunner] = {}

    def run(self) -> None:
        """Work until stop() is called, then hand back jobs and return."""
        self._adb.ensure_running()
        self._beat()
        threads = [
            threading.Thread(
                target=self._heartbeat_loop, name="heartbeat", daemon=True
            ),
            threading.Thread(target=self._claim_loop, name="claim", daemon=True),
        ]
        for thread in threads:
            thread.start()
        logger.info("agent started", extra={"api": self._api.base_url})
        self._stopping.wait()
        self._hand_back()
        logger.info("agent stopped")

    def stop(self) -> None:
        """Ask run() to finish; safe from a signal handler."""
        self._stopping.set()

    @property
    def busy_serials(self) -> list[str]:
        with self._lock:
            return sorted(self._runners)

    # Heartbeat

    def _heartbeat_loop(self) -> None:
        while not self._stopping.wait(self.settings.heartbeat_interval_s):
            self._beat()

    def _beat(self) -> None:
        self._reconnect_wifi_phones()
        try:
            devices = self._adb.devices()
        except DeviceError as exc:
            logger.warning("devices not listed", extra={"error": str(exc)})
            return
        listed = {info.serial: info for info in devices}
        with self._lock:
            self._devices = listed
            runners = dict(self._runners)
        for serial, runner in runners.items():
            info = listed.get(serial)
            if info is None or info.state != "device":
                runner.request_stop("device_disconnected")
        try:
            self._api.heartbeat([_report(info) for info in devices[:MAX_DEVICES]])
        except ApiError as exc:
            logger.warning("heartbeat not delivered", extra={"error": str(exc)})

    def _reconnect_wifi_phones(self) -> None:
        with self._lock:
            known_devices = dict(self._devices)
        for address in self.settings.connect:
            known = known_devices.get(address)
            if known is not None and known.state == "device":
                continue
            try:
                self._adb.connect(address)
            except DeviceError as exc:
                logger.warning(
                    "phone not connected", extra={"address": address, "error": str(exc)}
                )

    # Claiming

    def _claim_loop(self) -> None:
        backoff = Backoff(API_RETRY_INITIAL_S, API_RETRY_MAX_S)
        while not self._stopping.is_set():
            free = self._free_serials()
            if not free:
                self._stopping.wait(self.settings.heartbeat_interval_s / 5)
                continue
            try:
                job = self._api.claim(free, self.settings.claim_wait_s)
            except ApiError as exc:
                if isinstance(exc, ApiUnavailableError):
                    backoff.wait("claim", exc, self._stopping)
                else:
                    logger.error("claim refused", extra={"error": str(exc)})
                    self._stopping.wait(backoff.next_delay_s())
                continue
            backoff.reset()
            if job is not None:
                self._start(job, expected=free)

    def _free_serials(self) -> list[str]:
        with self._lock:
            return sorted(
                serial
                for serial, info in self._devices.items()
                if info.state == "device" and serial not in self._runners
            )[:MAX_DEVICES]

    def _start(self, job: JobAssignment, expected: Sequence[str]) -> None:
        runner = JobRunner(job, self._api, self._adb, self._gave_up)
        if self._stopping.is_set():
            runner.request_stop("agent_lost")
        elif job.device_serial not in expected:
            runner.request_stop("device_disconnected")
        with self._lock:
            self._runners[job.device_serial] = runner
        thread = threading.Thread(
            target=self._run_job, args=(runner,), name=f"job-{job.job_id}"
        )
        runner.thread = thread
        thread.start()

    def _run_job(self, runner: JobRunner) -> None:
        try:
            runner.run()
        finally:
            with self._lock:
                if self._runners.get(runner.job.device_serial) is runner:
                    del self._runners[runner.job.device_serial]

    # Stopping

    def _hand_back(self) -> None:
        # NOTE: a claim answered after this point starts a runner that hands its
        # job straight back, but run() may return before that report lands; the
        # API then retries the job once the job's heartbeat has lapsed.
        with self._lock:
            runners = list(self._runners.values())
        for runner in runners:
            runner.request_stop("agent_lost")
        deadline = time.monotonic() + self.settings.shutdown_grace_s
        for runner in runners:
            if runner.thread is not None:
                runner.thread.join(max(0.0, deadline - time.monotonic()))
        self._gave_up.set()
        for runner in runners:
            if runner.thread is None:
                continue
            runner.thread.join(THREAD_JOIN_S)
            if runner.thread.is_alive():
                logger.error("job still running at exit", extra=runner.log_extra)


class JobRunner:
    """One job on one phone, from its images to its delivered result."""

    def __init__(
        self,
        job: JobAssignment,
        api: ApiClient,
        adb: AdbServer,
        gave_up: threading.Event,
    ) -> None:
        self.job = job
        self.thread: threading.Thread | None = None
        self._api = api
        self._adb = adb
        self._gave_up = gave_up
        self._events = _EventBuffer()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._stop_reason: str | None = None
        self._abandoned = False
        self.log_extra = {"job_id": job.job_id, "execution_id": job.execution_id}

    def request_stop(self, reason: str) -> None:
        """Stop the run at its next check; the first reason given wins."""
        with self._lock:
            if self._stop_reason is None:
                self._stop_reason = reason
                logger.info(
                    "job stop requested", extra={**self.log_extra, "reason": reason}
                )

    def run(self) -> None:
        logger.info(
            "job started", extra={**self.log_extra, "serial": self.job.device_serial}
        )
        monitor = threading.Thread(target=self._monitor, daemon=True)
        monitor.start()
        try:
            result = self._execute()
        finally:
            self._done.set()
            monitor.join()
        if self._abandoned:
            logger.warning("job abandoned: no longer ours", extra=self.log_extra)
            return
        self._deliver(result)

    # Running

    def _execute(self) -> JobResult:
        if self._reason() is not None:
            return self._stopped_result(JobResult(success=False, error_type="stopped"))
        try:
            assets = self._download_assets()
        except ApiError as exc:
            message = f"the job's images could not be fetched: {exc}"
            return JobResult(
                success=False, error_type="network_error", error_message=message
            )
        result = run_script(
            self.job.script,
            self._adb.device(self.job.device_serial),
            parameters=self.job.parameters,
            assets=assets,
            timeout_ms=self.job.timeout_ms,
            hooks=RunHooks(
                should_stop=lambda: self._reason() is not None,
                on_progress=self._events.progress,
                on_log=self._events.log,
                log_extra=self.log_extra,
            ),
        )
        return self._stopped_result(result)

    def _download_assets(self) -> dict[str, bytes]:
        assets = {}
        for name in self.job.assets:
            backoff = Backoff(API_RETRY_INITIAL_S, API_RETRY_MAX_S)
            for attempt in range(1, ASSET_ATTEMPTS + 1):
                try:
                    assets[name] = self._api.asset(self.job.job_id, name)
                    break
                except JobLostError:
                    self._abandon()
                    raise
                except ApiUnavailableError as exc:
                    if attempt == ASSET_ATTEMPTS or self._reason() is not None:
                        raise
                    backoff.wait("download asset", exc, **self.log_extra, asset=name)
        return assets

    def _stopped_result(self, result: JobResult) -> JobResult:
        """Name the real reason of a run that ended because it was stopped."""
        reason = self._reason()
        if result.error_type != "stopped" or reason in (None, "stopped"):
            return result
        messages = {
            "agent_lost": "the agent shut down; the job goes back to the queue",
            "device_disconnected": f"{self.job.device_serial} left the adb server",
            "abandoned": "the job is no longer assigned to this agent",
        }
        return dataclasses.replace(
            result, error_type=reason, error_message=messages.get(reason, reason)
        )

    def _reason(self) -> str | None:
        with self._lock:
            return self._stop_reason

    def _abandon(self) -> None:
        self._abandoned = True
        self.request_stop("abandoned")

    # Talking to the API while running

    def _monitor(self) -> None:
        interval_s = max(self.job.heartbeat_seconds / 3, MIN_JOB_HEARTBEAT_S)
        next_beat = time.monotonic() + interval_s
        while not self._done.wait(min(EVENTS_FLUSH_S, interval_s)):
            # The heartbeat goes first: a slow events post must not delay it.
            if time.monotonic() >= next_beat and not self._abandoned:
                next_beat = time.monotonic() + interval_s
                self._job_heartbeat()
            if not self._abandoned:
                self._flush_events()

    def _job_heartbeat(self) -> None:
        try:
            if self._api.job_heartbeat(self.job.job_id):
                self.request_stop("stopped")
        except JobLostError:
            self._abandon()
        except ApiError as exc:
            logger.warning(
                "job heartbeat not delivered",
                extra={**self.log_extra, "error": str(exc)},
            )

    def _flush_events(self) -> None:
        try:
            self._send_events()
        except JobLostError:
            self._abandon()
        except ApiUnavailableError as exc:
            logger.warning(
                "events not delivered", extra={**self.log_extra, "error": str(exc)}
            )

    def _send_events(self) -> None:
        """Post buffered progress and logs; raises ApiUnavailable/JobLostError."""
        while (batch := self._events.take()) is not None:
            progress, step, logs = batch
            try:
                self._api.post_events(self.job.job_id, progress, step, logs)
            except ApiUnavailableError:
                self._events.put_back(logs)
                raise
            except JobLostError:
                raise
            except ApiError as exc:
                # Sending the same lines again would be refused again.
                logger.error(
                    "events refused", extra={**self.log_extra, "error": str(exc)}
                )

    def _deliver(self, result: JobResult) -> None:
        extra = {
            **self.log_extra,
            "success": result.success,
            "error_type": result.error_type,
            "actions_executed": result.actions_executed,
        }
        backoff = Backoff(API_RETRY_INITIAL_S, API_RETRY_MAX_S)
        while True:
            try:
                self._send_events()
                self._api.complete(self.job.job_id, result)
            except JobLostError:
                logger.warning("result refused: job no longer ours", extra=extra)
                return
            except ApiUnavailableError as exc:
                if not backoff.wait("complete job", exc, self._gave_up, **extra):
                    logger.error("result dropped at shutdown", extra=extra)
                    return
                continue
            except ApiError as exc:
                logger.error("result refused", extra={**extra, "error": str(exc)})
                return
            logger.info("job completed", extra=extra)
            return


class _EventBuffer:
    """Progress and log lines waiting to be posted, safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logs: deque[LogLine] = deque(maxlen=MAX_BUFFERED_LOGS)
        self._progress: int | None = None
        self._step: str | None = None
        self._changed = False

    def progress(self, percent: int, step: str) -> None:
        with self._lock:
            self._progress, self._step, self._changed = percent, step, True

    def log(self, line: LogLine) -> None:
        # NOTE: while the API is unreachable only the last MAX_BUFFERED_LOGS
        # lines are kept; older lines of a long run are lost.
        with self._lock:
            self._logs.append(line)
            self._changed = True

    def take(self) -> tuple[int | None, str | None, list[LogLine]] | None:
        """The next batch to post, or None when nothing changed."""
        with self._lock:
            if not self._changed:
                return None
            count = min(len(self._logs), MAX_LOG_LINES)
            logs = [self._logs.popleft() for _ in range(count)]
            self._changed = bool(self._logs)
            return self._progress, self._step, logs

    def put_back(self, logs: list[LogLine]) -> None:
        with self._lock:
            self._logs.extendleft(reversed(logs))
            self._changed = True


def _report(info: DeviceInfo) -> DeviceReport:
    return DeviceReport(
        serial=info.serial[:128],
        model=info.model[:100],
        android_version=info.android_version[:20],
        screen_width=info.screen_width,
        screen_height=info.screen_height,
        state=info.state[:20],
    )
