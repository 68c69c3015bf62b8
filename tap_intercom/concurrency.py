"""How many requests to keep in flight: Little's law, in flight = rate x latency.

Intercom's budget is a rate (10,000 requests a minute per app) and every request is a round trip. To spend the
budget the tap must keep rate x latency requests in flight: at 166 a second and 300 ms, 50. Fewer leaves budget
unused however much work is waiting; more only queue behind the rate limiter. The latency is measured (a moving
average of response times), the rate is the budget's; the headroom lets a window's budget be spent early rather
than late, and `max_workers` is the ceiling.
"""
import math

HEADROOM = 1.5
FLOOR = 4  # in flight at least, whatever the sums say: a quick server still overlaps a few calls
SMOOTHING = 0.1  # weight of each new response time in the moving average


class InFlightTarget:
    def __init__(self, ceiling):
        self.ceiling = ceiling
        self.latency = None  # seconds, moving average; None until the first response

    def observe(self, seconds):
        self.latency = seconds if self.latency is None else self.latency + SMOOTHING * (seconds - self.latency)

    def target(self, rate_per_second):
        """Requests to keep in flight at `rate_per_second`, between FLOOR and the ceiling."""
        floor = min(FLOOR, self.ceiling)
        if self.latency is None:
            return floor
        return max(floor, min(self.ceiling, math.ceil(rate_per_second * self.latency * HEADROOM) + 1))
