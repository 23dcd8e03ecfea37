"""What the setup doctor says, in Chinese and English: each check's title, what it found and what
to click in the WeCom admin console (管理后台, work.weixin.qq.com) to fix it. One place, so a
wording fix is one edit; ``say(key, **values)`` fills a message in.

Console paths are the ones an admin sees in 2025–2026 (应用管理 → 自建 → the app); doc ids are
WeCom's (developer.work.weixin.qq.com/document/path/<id>).
"""

from __future__ import annotations

Msg = tuple[str, str]  # (中文, English)

APP = "你的自建应用（如「工单助手」）"
APP_EN = "your self-built app (e.g. 工单助手)"
CONSOLE_APP = "管理后台 → 应用管理 → 自建 → 点开" + APP
CONSOLE_APP_EN = "Admin console → 应用管理 (Apps) → 自建 (Self-built) → open " + APP_EN

TITLES: dict[str, Msg] = {
    "settings": ("设置", "Settings"),
    "config": ("配置文件", "Config files"),
    "database": ("数据库", "Database"),
    "migrations": ("数据库迁移", "Migrations"),
    "gettoken": ("应用凭证 gettoken", "App credentials (gettoken)"),
    "clock": ("服务器时钟", "Server clock"),
    "trusted_ip": ("企业可信IP", "Trusted IP (企业可信IP)"),
    "agent": ("应用 AgentId", "App AgentId (agent/get)"),
    "visible_range": ("应用可见范围", "App visible range"),
    "kf": ("微信客服", "WeChat customer service (kf/account/list)"),
    "approval": ("企业微信审批", "WeCom approvals (审批)"),
    "public_dns": ("公网地址解析", "PUBLIC_URL DNS"),
    "public_tls": ("HTTPS 证书", "HTTPS certificate"),
    "callback_app": ("回调URL校验（自建应用）", "Callback URL verification (app)"),
    "callback_aibot": ("回调URL校验（智能机器人）", "Callback URL verification (AI bot)"),
}

# Where each setting comes from in the console (shown when a setting is missing or malformed).
WHERE: dict[str, Msg] = {
    "WECOM_CORP_ID": ("管理后台 → 我的企业 → 企业信息 → 页面最下方「企业ID」，复制到 WECOM_CORP_ID",
                      "Admin console → 我的企业 (My company) → 企业信息 → 企业ID at the bottom; "
                      "paste it into WECOM_CORP_ID"),
    "WECOM_AGENT_ID": (CONSOLE_APP + " → 页面上的 AgentId（数字），复制到 WECOM_AGENT_ID",
                       CONSOLE_APP_EN + " → the AgentId on that page (a number); paste it into "
                       "WECOM_AGENT_ID"),
    "WECOM_SECRET": (CONSOLE_APP + " → Secret 旁「查看」→ 在企业微信手机端收到后复制到 "
                     "WECOM_SECRET（通讯录同步、客户联系的 Secret 都不是应用的 Secret）",
                     CONSOLE_APP_EN + " → 查看 (View) beside Secret → it arrives in the WeCom "
                     "app on your phone; paste it into WECOM_SECRET (the 通讯录同步 or 客户联系 "
                     "secrets are not the app's)"),
    "WECOM_TOKEN": (CONSOLE_APP + " → 接收消息 →「设置API接收」→ Token（可点「随机获取」），"
                    "与 WECOM_TOKEN 完全相同",
                    CONSOLE_APP_EN + " → 接收消息 (Receive messages) → 设置API接收 (Set API "
                    "receiving) → Token (随机获取 makes one); WECOM_TOKEN must be identical"),
    "WECOM_AES_KEY": (CONSOLE_APP + " → 接收消息 →「设置API接收」→ EncodingAESKey（43 个字符，"
                      "可点「随机获取」），与 WECOM_AES_KEY 完全相同",
                      CONSOLE_APP_EN + " → 接收消息 → 设置API接收 → EncodingAESKey (43 "
                      "characters; 随机获取 makes one); WECOM_AES_KEY must be identical"),
    "AIBOT_TOKEN": ("管理后台 → 应用管理 → 智能机器人 → 点开机器人 → API 模式 → Token，"
                    "与 AIBOT_TOKEN 完全相同",
                    "Admin console → 应用管理 → 智能机器人 (AI bot) → open it → API mode → Token; "
                    "AIBOT_TOKEN must be identical"),
    "AIBOT_AES_KEY": ("管理后台 → 应用管理 → 智能机器人 → 点开机器人 → API 模式 → "
                      "EncodingAESKey（43 个字符），与 AIBOT_AES_KEY 完全相同",
                      "Admin console → 应用管理 → 智能机器人 → open it → API mode → "
                      "EncodingAESKey (43 characters); AIBOT_AES_KEY must be identical"),
    "PUBLIC_URL": ("填企业微信能访问到的地址，只到域名：https://bot.example.com（不带 "
                   "/wecom/callback）",
                   "the address WeCom can reach, up to the host only: https://bot.example.com "
                   "(without /wecom/callback)"),
}

M: dict[str, Msg] = {
    # settings
    "settings.ok": ("完整，格式正确（企业ID {corp}，AgentId {agent}）",
                    "complete and well-formed (CorpID {corp}, AgentId {agent})"),
    "settings.load": ("{error}", "{error}"),
    "settings.sandbox": ("没有企业微信设置：机器人只会连本地沙箱",
                         "no WeCom settings: the bot would only talk to the local sandbox"),
    "settings.sandbox.fix": ("在 .env 或环境变量里填 WECOM_CORP_ID、WECOM_AGENT_ID、WECOM_SECRET、"
                             "WECOM_TOKEN、WECOM_AES_KEY 和 PUBLIC_URL（docs/wecom-setup.md 第 1–3 步）",
                             "set WECOM_CORP_ID, WECOM_AGENT_ID, WECOM_SECRET, WECOM_TOKEN, "
                             "WECOM_AES_KEY and PUBLIC_URL in .env or the environment "
                             "(docs/wecom-setup.md, steps 1–3)"),
    "settings.spaces": ("{var} 开头或结尾有空格或引号", "{var} has spaces or quotes at its ends"),
    "settings.spaces.fix": ("重新复制 {var}，不要带空格、引号或换行",
                            "copy {var} again without spaces, quotes or a line break"),
    "settings.chars": ("{var} 含有空格或非 ASCII 字符", "{var} holds spaces or non-ASCII characters"),
    "settings.corp_case": ("WECOM_CORP_ID 以大写字母开头：企业ID 以小写 ww 或 wx 开头，区分大小写",
                           "WECOM_CORP_ID starts upper-case: CorpIDs start with lower-case ww or "
                           "wx, and case matters"),
    "settings.agent": ("WECOM_AGENT_ID 必须是正整数", "WECOM_AGENT_ID must be a positive number"),
    "settings.public_path": ("PUBLIC_URL 不应以 {path} 结尾", "PUBLIC_URL should not end with {path}"),
    # config files
    "config.ok": ("都有效", "all valid"),
    "config.fail": ("{error}", "{error}"),
    "config.fix": ("改正上面指出的文件、行和字段，再运行 python main.py doctor",
                   "fix the file, line and field named above, then run python main.py doctor"),
    # database
    "database.ok": ("可以连接：{url}", "reachable: {url}"),
    "database.new": ("{url} 还不存在：python main.py migrate（或 serve 启动时）会创建",
                     "{url} does not exist yet: python main.py migrate (or serve, at start) "
                     "creates it"),
    "database.fail": ("连不上 {url}：{error}", "cannot connect to {url}: {error}"),
    "database.fix": ("检查 DATABASE_URL（主机、端口、用户、密码、库名）和数据库是否在运行："
                     "systemctl status postgresql；psql \"$DATABASE_URL\" -c 'select 1'",
                     "check DATABASE_URL (host, port, user, password, database) and that the "
                     "server runs: systemctl status postgresql; psql \"$DATABASE_URL\" -c 'select 1'"),
    "migrations.ok": ("已是最新（{rev}）", "current ({rev})"),
    "migrations.behind": ("数据库在 {current}，代码需要 {head}", "the database is at {current}, "
                          "the code needs {head}"),
    "migrations.behind.fix": ("运行 python main.py migrate（serve 和 worker 启动时也会迁移）",
                              "run python main.py migrate (serve and worker also migrate at start)"),
    "migrations.unknown": ("数据库版本 {current} 本代码不认识（数据库比代码新？）",
                           "this code does not know the database's revision {current} (is the "
                           "database newer than the code?)"),
    "migrations.unknown.fix": ("升级时的几分钟里这是正常的：数据库已迁移，这个进程还是旧代码（迁移只增不减，"
                               "旧代码照常工作），重启后消失；否则请部署与数据库相同或更新版本的代码"
                               "（docs/deployment.md「升级」）",
                               "normal for the minutes of an upgrade: the database is migrated and "
                               "this process still runs the old code (migrations only add, so it "
                               "keeps working) until it is restarted; otherwise deploy the same "
                               "or a newer version of the code (docs/deployment.md, Upgrades)"),
    "skip.database": ("跳过：数据库不可用", "skipped: the database is not reachable"),
    # WeCom: gettoken and its errcodes [doc 91039, doc 90313]
    "skip.settings": ("跳过：设置不完整", "skipped: the settings are not complete"),
    "skip.gettoken": ("跳过：gettoken 未通过", "skipped: gettoken did not pass"),
    "skip.trusted_ip": ("跳过：企业可信IP 未通过", "skipped: the trusted IP check did not pass"),
    "skip.agent": ("跳过：agent/get 未通过", "skipped: agent/get did not pass"),
    "skip.by_setting": ("按 DOCTOR_SKIP 跳过", "skipped by DOCTOR_SKIP"),
    "gettoken.ok": ("企业ID 和 Secret 正确，取得了 access_token",
                    "the CorpID and the Secret are right: got an access_token"),
    "gettoken.40001": ("errcode 40001：Secret 不对（不是这个应用的，或已重置）",
                       "errcode 40001: the Secret is wrong (another app's, or it was reset)"),
    "gettoken.40013": ("errcode 40013：企业ID 不对", "errcode 40013: the CorpID is wrong"),
    "gettoken.41004": ("errcode 41004：没有 Secret", "errcode 41004: no Secret was sent"),
    "gettoken.other": ("errcode {code}：{errmsg}", "errcode {code}: {errmsg}"),
    "gettoken.other.fix": ("在 https://open.work.weixin.qq.com/devtool/query?e={code} 查询此错误码",
                           "look the errcode up at "
                           "https://open.work.weixin.qq.com/devtool/query?e={code}"),
    "gettoken.transport": ("连不上 {base}：{error}", "cannot reach {base}: {error}"),
    "gettoken.transport.fix": ("检查本机能否访问 https://qyapi.weixin.qq.com（防火墙、出站代理、DNS）："
                               "curl -sS https://qyapi.weixin.qq.com/cgi-bin/gettoken",
                               "check this server reaches https://qyapi.weixin.qq.com (firewall, "
                               "outbound proxy, DNS): curl -sS "
                               "https://qyapi.weixin.qq.com/cgi-bin/gettoken"),
    "token.42001": ("errcode 42001：access_token 刚取得就已过期",
                    "errcode 42001: the access_token expired as soon as it was issued"),
    "token.42001.fix": ("机器人平时会自动重新取令牌；一直出现时：检查服务器时钟（「服务器时钟」一行），"
                        "经代理访问 qyapi.weixin.qq.com 时确认代理不缓存 gettoken 的回答",
                        "the bot fetches a new token by itself; if this persists, check the "
                        "server clock (the Server clock line) and that no proxy in front of "
                        "qyapi.weixin.qq.com caches gettoken's answer"),
    # clock: WeCom's Date header vs ours
    "clock.ok": ("与企业微信相差 {skew} 秒（允许 {limit} 秒）",
                 "{skew} s from WeCom's clock (at most {limit} s allowed)"),
    "clock.fail": ("比企业微信{way} {skew} 秒（允许 {limit} 秒）",
                   "{skew} s {way_en} WeCom's clock (at most {limit} s allowed)"),
    "clock.fix": ("开启时间同步：timedatectl set-ntp true（或安装 chrony）；时钟不准会让令牌过期时间和"
                  "回调时间戳校验出错",
                  "turn on time sync: timedatectl set-ntp true (or install chrony); a wrong "
                  "clock breaks token expiry and callback timestamp checks"),
    "clock.none": ("跳过：没有收到企业微信带 Date 的回答",
                   "skipped: no answer from WeCom with a Date header"),
    # 60020 [doc 90313 #60020]
    "trusted_ip.ok": ("本机可以调用企业微信接口", "WeCom accepts API calls from this server"),
    "trusted_ip.fail": ("errcode 60020：企业微信拒绝来自 {ip} 的调用",
                        "errcode 60020: WeCom refuses calls from {ip}"),
    "trusted_ip.fix": (CONSOLE_APP + " → 页面下方「企业可信IP」→ 配置 → 添加 {ip}（多个用英文分号隔开）。"
                       "若提示先设置可信域名或接收消息服务器URL，先完成回调URL配置"
                       "（docs/wecom-setup.md 第 3 步）",
                       CONSOLE_APP_EN + " → 企业可信IP (Trusted IPs) at the bottom → 配置 → add "
                       "{ip} (several: separate with ;). If it asks for a trusted domain or a "
                       "message URL first, set the callback URL first (docs/wecom-setup.md, "
                       "step 3)"),
    "trusted_ip.unknown_ip": ("本机的公网出口 IP", "this server's public outbound IP"),
    # agent/get [doc 90227]
    "agent.ok": ("AgentId {agent}「{name}」已启用", "AgentId {agent} ({name}) is enabled"),
    "agent.mismatch": ("agent/get errcode {code}：AgentId {agent} 不是这个 Secret 的应用",
                       "agent/get errcode {code}: AgentId {agent} is not the app of this Secret"),
    "agent.mismatch.fix": (CONSOLE_APP + "：同一页面的 AgentId 填到 WECOM_AGENT_ID，Secret 填到 "
                           "WECOM_SECRET", CONSOLE_APP_EN + ": the AgentId and the Secret on that "
                           "one page go into WECOM_AGENT_ID and WECOM_SECRET"),
    "agent.closed": ("应用「{name}」已停用", "the app ({name}) is disabled"),
    "agent.closed.fix": (CONSOLE_APP + " → 启用", CONSOLE_APP_EN + " → 启用 (Enable)"),
    # visible range [doc 90227, doc 90196]
    "range.ok": ("数据库里的 {n} 名员工都在可见范围内", "all {n} staff in the database are in "
                 "the app's visible range"),
    "range.empty": ("数据库里还没有员工（python main.py staff import FILE）",
                    "no staff in the database yet (python main.py staff import FILE)"),
    "range.capped": ("（只查了前 {cap} 名）", " (checked the first {cap})"),
    "range.hidden": ("{n} 名员工不在可见范围内：{who}", "{n} staff are outside the app's visible "
                     "range: {who}"),
    "range.hidden.fix": (CONSOLE_APP + " →「可见范围」→ 添加 {who}（或他们所在的部门）；"
                         "不在可见范围的人收不到机器人的消息",
                         CONSOLE_APP_EN + " → 可见范围 (Visible range) → add {who} (or their "
                         "department); people outside it get nothing from the bot"),
    "range.unknown": ("{n} 个 userid 企业微信通讯录里没有：{who}",
                      "{n} userids are not in the WeCom directory: {who}"),
    "range.unknown.fix": ("管理后台 → 通讯录 → 点开成员 →「账号」就是 userid；改正员工文件后 "
                          "python main.py staff import FILE",
                          "Admin console → 通讯录 (Contacts) → open the member → 账号 (Account) "
                          "is the userid; fix the staff file, then python main.py staff import FILE"),
    "range.case": ("{n} 个 userid 大小写与企业微信不同：{who}",
                   "{n} userids differ in case from WeCom's: {who}"),
    "range.case.fix": ("按企业微信的写法改正员工文件里的 userid（机器人按原样比对，否则认不出这些人），"
                       "再 python main.py staff import FILE",
                       "write these userids as WeCom does in the staff file (the bot compares "
                       "them as written, so it would not recognise these people), then python "
                       "main.py staff import FILE"),
    # 微信客服 [doc 94661]
    "kf.ok": ("{n} 个客服账号由本应用收发：{names}", "{n} account(s) handled by this app: {names}"),
    "kf.forbidden": ("kf/account/list errcode {code}：应用不能调用微信客服接口",
                     "kf/account/list errcode {code}: the app may not call the 微信客服 API"),
    "kf.forbidden.fix": ("管理后台 → 应用管理 → 微信客服 → 点开「API」→「可调用接口的应用」中加入" + APP
                         + "。不用微信客服：设置 DOCTOR_SKIP=kf",
                         "Admin console → 应用管理 → 微信客服 → API → 可调用接口的应用 (apps that "
                         "may call the API): add " + APP_EN + ". Not using 微信客服: set "
                         "DOCTOR_SKIP=kf"),
    "kf.none": ("没有客服账号", "there are no customer-service accounts"),
    "kf.none.fix": ("管理后台 → 应用管理 → 微信客服 → 创建账号。不用微信客服：设置 DOCTOR_SKIP=kf",
                    "Admin console → 应用管理 → 微信客服 → create an account. Not using 微信客服: "
                    "set DOCTOR_SKIP=kf"),
    "kf.no_privilege": ("本应用不能为这些客服账号收发消息：{names}",
                        "this app may not send or receive for these accounts: {names}"),
    "kf.no_privilege.fix": ("管理后台 → 应用管理 → 微信客服 → API：把这些客服账号交给" + APP +
                            "管理（manage_privilege 为 false 时应用不能收发消息）",
                            "Admin console → 应用管理 → 微信客服 → API: let " + APP_EN + " manage "
                            "these accounts (with manage_privilege false it cannot send or receive)"),
    # 审批 [WORKFLOW_APIS.md §1.0, §1.1]
    "approval.unused": ("未使用（config/workflow.yaml 里没有 path: wecom 的审批，也没有设置 "
                        "WECOM_APPROVAL_TEMPLATE_ID）",
                        "not used (no approval in config/workflow.yaml has path: wecom, and "
                        "WECOM_APPROVAL_TEMPLATE_ID is not set)"),
    "approval.ok": ("应用可调用审批接口，模板都在：{names}", "the app may call the approval API and "
                    "the templates exist: {names}"),
    "approval.template": ("oa/gettemplatedetail errcode {code}：审批模板不存在、未启用或不是企业自建的："
                          "{ids}",
                          "oa/gettemplatedetail errcode {code}: no such approval template, not "
                          "enabled, or not one the corp made: {ids}"),
    "approval.template.fix": ("管理后台 → 应用管理 → 审批 → 模板管理：用企业自建并已启用的模板（自建应用"
                              "只能读企业自建的模板），把它的模板ID 填到 config/workflow.yaml 的 "
                              "wecom_template_id（或 WECOM_APPROVAL_TEMPLATE_ID）",
                              "Admin console → 应用管理 → 审批 (Approval) → 模板管理 (templates): "
                              "use an enabled template the corp made (a self-built app reads only "
                              "those) and put its template id into wecom_template_id in "
                              "config/workflow.yaml (or WECOM_APPROVAL_TEMPLATE_ID)"),
    "approval.controls": ("模板「{name}」没有控件 {ids}（config/workflow.yaml 的 wecom_controls 用到）",
                          "the template {name} has no control {ids} (wecom_controls in "
                          "config/workflow.yaml fills it)"),
    "approval.controls.fix": ("在 wecom_controls 里用模板实际的控件 id（oa/gettemplatedetail 返回的 "
                              "property.id，如 Text-1），或在审批模板里加上这些控件；否则提交审批单会被拒"
                              "（301025）",
                              "use the template's real control ids in wecom_controls (property.id "
                              "in oa/gettemplatedetail's answer, e.g. Text-1), or add the controls "
                              "to the template; otherwise submitting a form fails (301025)"),
    "approval.forbidden": ("oa/gettemplatedetail errcode {code}：应用不能调用审批接口",
                           "oa/gettemplatedetail errcode {code}: the app may not call the "
                           "approval API"),
    "approval.forbidden.fix": ("管理后台 → 应用管理 → 审批 → 点开「API」→「可调用接口的应用」中加入" +
                               APP + "（2023-12-01 起新企业不能再用审批应用自己的 Secret）",
                               "Admin console → 应用管理 → 审批 (Approval) → API → 可调用接口的应用: "
                               "add " + APP_EN + " (since 2023-12-01 new corps cannot use the "
                               "approval app's own Secret)"),
}
M.update({
    # PUBLIC_URL: DNS
    "public.unset": ("没有设置 PUBLIC_URL", "PUBLIC_URL is not set"),
    "public.unset.fix": ("PUBLIC_URL：" + WHERE["PUBLIC_URL"][0] + "。域名须已备案（ICP），且备案主体与"
                         "企业微信的企业主体相同或有关联关系，否则控制台提示「域名主体校验未通过」",
                         "PUBLIC_URL: " + WHERE["PUBLIC_URL"][1] + ". The domain must be "
                         "ICP-filed (备案) by the same company as the WeCom corp, or a related "
                         "one, or the console says 域名主体校验未通过"),
    "dns.ok": ("{host} → {addrs}", "{host} → {addrs}"),
    "dns.private": ("（内网地址：企业微信从公网访问不到，仅测试可用）",
                    " (private addresses: WeCom cannot reach them; fine for a test only)"),
    "dns.fail": ("{host} 解析失败：{error}", "{host} does not resolve: {error}"),
    "dns.fix": ("在域名的 DNS 解析里为 {host} 添加 A 记录，指向反向代理所在服务器的公网 IP",
                "add an A record for {host} in the domain's DNS, pointing at the public IP of "
                "the server that runs the reverse proxy"),
    # PUBLIC_URL: TLS
    "tls.http": ("PUBLIC_URL 是 http://，不是 https://", "PUBLIC_URL is http://, not https://"),
    "tls.http.fix": ("用 https：在反向代理上配置证书（docs/deploy/ 里的 Caddy 或 nginx 示例），"
                     "PUBLIC_URL 改为 https://…",
                     "use https: put a certificate on the reverse proxy (the Caddy or nginx "
                     "example in docs/deploy/) and make PUBLIC_URL https://…"),
    "tls.connect": ("{host}:{port} 连不上：{error}", "cannot connect to {host}:{port}: {error}"),
    "tls.connect.fix": ("反向代理在运行吗？防火墙和云安全组放行 {port} 端口了吗？",
                        "is the reverse proxy running? do the firewall and the cloud security "
                        "group allow port {port}?"),
    "tls.ok": ("证书有效，颁发者 {issuer}，{days} 天后（{date}）到期",
               "valid, issued by {issuer}, expires in {days} days ({date})"),
    "tls.expired": ("证书已于 {date} 过期", "the certificate expired on {date}"),
    "tls.soon": ("证书 {days} 天后（{date}）过期（不足 {min} 天）",
                 "the certificate expires in {days} days ({date}), under {min}"),
    "tls.renew.fix": ("续期证书：Caddy 会自动续期；certbot 用 certbot renew，然后重新加载 nginx",
                      "renew the certificate: Caddy renews by itself; with certbot run certbot "
                      "renew and reload nginx"),
    "tls.self_signed": ("证书是自签名的", "the certificate is self-signed"),
    "tls.untrusted": ("证书不受信任：{reason}", "the certificate is not trusted: {reason}"),
    "tls.public_ca.fix": ("企业微信只信任公开 CA 签发的证书：用 Let's Encrypt（Caddy 自动申请）或购买的"
                          "证书，并配置完整证书链（fullchain.pem）",
                          "WeCom trusts certificates of public CAs only: use Let's Encrypt "
                          "(Caddy gets one by itself) or a bought certificate, with its full "
                          "chain (fullchain.pem)"),
    "tls.hostname": ("证书不包含 {host}（证书上是 {names}）",
                     "the certificate does not name {host} (it names {names})"),
    "tls.hostname.fix": ("为 {host} 签发证书，或把 PUBLIC_URL 改成证书上的域名",
                         "get a certificate for {host}, or use a name the certificate has in "
                         "PUBLIC_URL"),
    "skip.public": ("跳过：PUBLIC_URL 未通过上一项", "skipped: PUBLIC_URL failed the line above"),
    # the signed URL verification, as WeCom sends it [doc 90930, doc 91144]
    "cb.ok": ("{url} 正确回答了签名的校验请求（{ms} 毫秒）",
              "{url} answered a signed verification request correctly ({ms} ms)"),
    "cb.unused": ("未使用（没有设置 AIBOT_TOKEN）", "not used (AIBOT_TOKEN is not set)"),
    "cb.query": ("{url} 收到的请求没有查询串（HTTP {status}）：反向代理丢掉了 ?msg_signature=…",
                 "{url} got the request without its query string (HTTP {status}): the reverse "
                 "proxy drops ?msg_signature=…"),
    "cb.query.fix": ("让代理原样转发路径和查询串：nginx 的 proxy_pass 后面只写上游（proxy_pass "
                     "http://wecom_bot; 或 http://127.0.0.1:8080;，不带路径、不要 rewrite），Caddy 的 "
                     "reverse_proxy 默认保留；见 docs/deploy/",
                     "make the proxy pass the path and the query string unchanged: nginx "
                     "proxy_pass names the upstream only (proxy_pass http://wecom_bot; or "
                     "http://127.0.0.1:8080; no path after it, no rewrite); Caddy's reverse_proxy "
                     "keeps them; see docs/deploy/"),
    "cb.signature": ("签名不符（HTTP 403）：在运行的机器人与这里的 {var} 不同，或代理改动了查询串",
                     "signature mismatch (HTTP 403): the running bot has another {var} than "
                     "this one, or the proxy changed the query string"),
    "cb.same_settings.fix": ("让 serve 进程和 doctor 用同一份设置（同一个 .env 或 EnvironmentFile），"
                             "改后重启 serve；代理须原样转发查询串（不要把 %2B 解码成 +）",
                             "give the serve process and the doctor the same settings (one .env "
                             "or EnvironmentFile), restart serve after a change; the proxy must "
                             "pass the query string as it came (never decode %2B)"),
    "cb.decrypt": ("解密失败（HTTP 400）：在运行的机器人的 {var} 不同，或代理改动了 echostr",
                   "cannot decrypt (HTTP 400): the running bot has another {var}, or the proxy "
                   "changed echostr"),
    "cb.receiveid": ("receiveid 不符（HTTP 403）：在运行的机器人用的是另一个企业ID",
                     "receiveid mismatch (HTTP 403): the running bot uses another CorpID"),
    "cb.not_configured": ("机器人没有开启这个回调（HTTP 404）", "the bot has this callback turned "
                          "off (HTTP 404)"),
    "cb.not_configured.fix": ("设置 {vars} 后重启 serve", "set {vars}, then restart serve"),
    "cb.not_found": ("HTTP 404：{url} 这个路径不对", "HTTP 404: the path of {url} is wrong"),
    "cb.not_found.fix": ("反向代理须把 /wecom/ 开头的路径原样转发给机器人（docs/deploy/）；控制台里填 "
                         "{url}，注意大小写，结尾不加斜杠",
                         "the reverse proxy must pass paths under /wecom/ to the bot unchanged "
                         "(docs/deploy/); type {url} in the console exactly, case included, no "
                         "trailing slash"),
    "cb.upstream": ("HTTP {status}：代理连不上机器人", "HTTP {status}: the proxy cannot reach the bot"),
    "cb.upstream.fix": ("python main.py serve 在运行吗？代理的上游须是机器人的 HOST:PORT"
                        "（默认 127.0.0.1:8080）",
                        "is python main.py serve running? the proxy's upstream must be the "
                        "bot's HOST:PORT (default 127.0.0.1:8080)"),
    "cb.other_body": ("HTTP 200，但回答的不是解密后的 echostr（{snippet}）：别的服务回答了",
                      "HTTP 200, but the answer is not the decrypted echostr ({snippet}): "
                      "another service answered"),
    "cb.other_body.fix": ("确认 {url} 由反向代理转给了本机器人，而不是别的网站或默认页",
                          "make sure the reverse proxy sends {url} to this bot, not to another "
                          "site or a default page"),
    "cb.slow": ("回答用了 {ms} 毫秒：企业微信只等 1 秒", "the answer took {ms} ms: WeCom waits 1 s"),
    "cb.slow.fix": ("机器人和代理之间不要有慢速环节（远距离转发、限速）；检查服务器负载",
                    "keep slow hops out between the proxy and the bot (long-distance forwarding, "
                    "rate limits); check the server's load"),
    "cb.status": ("HTTP {status}：{snippet}", "HTTP {status}: {snippet}"),
    "cb.connect": ("{url} 连不上：{error}", "cannot reach {url}: {error}"),
})


def say(key: str, **values: object) -> Msg:
    """The message ``key`` in both languages, filled with ``values``."""
    zh, en = M[key]
    return zh.format(**values), en.format(**values)
