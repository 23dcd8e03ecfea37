"""The setup doctor (issue 17): everything between the WeCom admin console and a live bot, checked
and explained. ``python main.py doctor`` prints each check with ✓ / ✗ and, for each ✗, what to
click in the console (Chinese and English); the same checks run once at start (one log line) and
on ``/healthz?verbose=1``.

* ``local.py`` settings, config files, database, migrations (no network);
* ``wecom.py`` gettoken, clock, 企业可信IP, the app and its visible range, 微信客服;
* ``approval.py`` the 审批 templates config/workflow.yaml sends forms with (``path: wecom``);
* ``public.py`` PUBLIC_URL: DNS, the HTTPS certificate, a signed URL verification as WeCom sends it;
* ``run.py`` the order, and the cached ``Doctor`` a running bot uses;
* ``report.py`` results and how they print; ``texts.py`` every word it says; ``cli.py``.
"""

from handlers.doctor.report import Report, Result
from handlers.doctor.run import Doctor, run_doctor

__all__ = ["Doctor", "Report", "Result", "run_doctor"]
