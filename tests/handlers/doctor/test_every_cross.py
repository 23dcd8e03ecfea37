"""Every ✗ the doctor can print is reached by a test: the catalogue below names, for each failure
message in handlers/doctor/texts.py, the test that makes the sandbox (or the loopback proxy, the
database, the settings) produce it and reads it. This test keeps the catalogue honest: a new
failure message without a test, a test that was renamed away, or a test that no longer asserts
the message's words fails here."""

from __future__ import annotations

import importlib
import inspect
import re

from handlers.doctor.texts import M

#: not failures: what a ✓ or – line says, or a part of another message
NOT_FAILURES = {"clock.none", "trusted_ip.unknown_ip", "range.empty", "range.capped",
                "approval.unused", "dns.private", "cb.unused", "database.new"}

LOCAL = "tests.handlers.doctor.test_local_checks"
WECOM = "tests.handlers.doctor.test_wecom_checks"
PUBLIC = "tests.handlers.doctor.test_public_checks"
RUNTIME = "tests.handlers.doctor.test_runtime"

CATALOGUE = {
    "settings.load": (LOCAL, "test_settings_that_do_not_load_are_the_first_cross_not_a_crash"),
    "settings.sandbox": (LOCAL, "test_no_wecom_settings_at_all"),
    "settings.spaces": (LOCAL, "test_malformed_settings_are_named_with_where_to_copy_them_from"),
    "settings.chars": (LOCAL, "test_malformed_settings_are_named_with_where_to_copy_them_from"),
    "settings.corp_case": (LOCAL,
                           "test_malformed_settings_are_named_with_where_to_copy_them_from"),
    "settings.agent": (LOCAL, "test_malformed_settings_are_named_with_where_to_copy_them_from"),
    "settings.public_path": (LOCAL,
                             "test_malformed_settings_are_named_with_where_to_copy_them_from"),
    "config.fail": (LOCAL, "test_a_broken_config_file_names_file_line_and_field"),
    "database.fail": (LOCAL, "test_database_unreachable_hides_the_password"),
    "migrations.behind": (LOCAL, "test_migrations_behind_and_unknown"),
    "migrations.unknown": (LOCAL, "test_migrations_behind_and_unknown"),
    "gettoken.40001": (WECOM, "test_gettoken_errcodes_are_explained"),
    "gettoken.40013": (WECOM, "test_gettoken_errcodes_are_explained"),
    "gettoken.41004": (WECOM, "test_gettoken_errcodes_are_explained"),
    "gettoken.other": (WECOM,
                       "test_an_errcode_the_doctor_has_no_words_for_links_to_wecoms_lookup"),
    "gettoken.transport": (WECOM, "test_wecom_unreachable"),
    "token.42001": (WECOM, "test_a_token_that_is_already_expired_is_42001"),
    "clock.fail": (WECOM, "test_a_clock_off_by_more_than_a_minute"),
    "trusted_ip.fail": (WECOM, "test_untrusted_ip_names_the_ip_wecom_reports"),
    "agent.mismatch": (WECOM, "test_agent_id_of_another_app_and_a_disabled_app"),
    "agent.closed": (WECOM, "test_agent_id_of_another_app_and_a_disabled_app"),
    "range.hidden": (WECOM,
                     "test_staff_outside_the_visible_range_unknown_or_spelled_differently"),
    "range.unknown": (WECOM,
                      "test_staff_outside_the_visible_range_unknown_or_spelled_differently"),
    "range.case": (WECOM, "test_staff_outside_the_visible_range_unknown_or_spelled_differently"),
    "kf.forbidden": (WECOM, "test_wechat_customer_service_problems"),
    "kf.none": (WECOM, "test_wechat_customer_service_problems"),
    "kf.no_privilege": (WECOM, "test_wechat_customer_service_problems"),
    "approval.forbidden": (WECOM, "test_approval_api_not_granted"),
    "approval.template": (WECOM, "test_an_approval_template_that_is_not_there"),
    "approval.controls": (WECOM,
                          "test_an_approval_template_without_the_controls_the_rule_fills"),
    "public.unset": (PUBLIC, "test_public_url_not_set_mentions_the_icp_rule"),
    "dns.fail": (PUBLIC, "test_a_name_that_does_not_resolve"),
    "tls.http": (PUBLIC, "test_plain_http_is_not_enough"),
    "tls.connect": (PUBLIC, "test_nothing_listens"),
    "tls.expired": (PUBLIC, "test_bad_certificates"),
    "tls.soon": (PUBLIC, "test_bad_certificates"),
    "tls.self_signed": (PUBLIC, "test_bad_certificates"),
    "tls.hostname": (PUBLIC, "test_bad_certificates"),
    "tls.untrusted": (PUBLIC, "test_a_ca_the_doctor_was_not_told_to_trust"),
    "cb.query": (PUBLIC, "test_proxies_that_break_the_verification"),
    "cb.not_found": (PUBLIC, "test_proxies_that_break_the_verification"),
    "cb.other_body": (PUBLIC, "test_proxies_that_break_the_verification"),
    "cb.upstream": (PUBLIC, "test_proxies_that_break_the_verification"),
    "cb.slow": (PUBLIC, "test_proxies_that_break_the_verification"),
    "cb.status": (PUBLIC, "test_proxies_that_break_the_verification"),
    "cb.connect": (PUBLIC, "test_nothing_listens"),
    "cb.signature": (PUBLIC, "test_the_running_bot_has_other_settings"),
    "cb.decrypt": (PUBLIC, "test_the_running_bot_has_other_settings"),
    "cb.receiveid": (PUBLIC, "test_the_running_bot_has_other_settings"),
    "cb.not_configured": (PUBLIC, "test_ai_bot_callback_turned_off_in_the_bot_or_not_used"),
}


def failure_keys() -> set[str]:
    return {k for k in M if not k.endswith((".fix", ".ok")) and not k.startswith("skip.")
            and k not in NOT_FAILURES}


def test_every_failure_message_has_a_test():
    keys = failure_keys()
    assert keys - set(CATALOGUE) == set(), "failure messages without a test"
    assert set(CATALOGUE) - keys == set(), "catalogued messages that no longer exist"


def test_each_named_test_exists_and_asserts_the_message_and_its_fix():
    missing = []
    for key, (module, name) in CATALOGUE.items():
        test = getattr(importlib.import_module(module), name, None)
        if test is None:
            missing.append(f"{key}: {module}.{name} is gone")
            continue
        source = inspect.getsource(test)  # with its parametrize table
        # The longest fixed part of the Chinese message (the test fills the placeholders).
        piece = max(re.split(r"\{[^}]*\}", M[key][0]), key=len).strip()
        if len(piece) >= 3 and piece not in source:
            missing.append(f"{key}: {name} does not check {piece!r}")
        if f"{key}.fix" in M:  # and some words of its advice
            words = [w for w in re.split(r"\{[^}]*\}|[，。；：、（）「」？→ ]", M[f"{key}.fix"][0])
                     if len(w) >= 4]
            if not any(w in source for w in words):
                missing.append(f"{key}: {name} checks no words of its fix")
    assert not missing, "\n".join(missing)
