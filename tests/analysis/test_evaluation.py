"""`manage.py evaluate_analysis` on labelled CSVs, and the scoring it prints."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from analysis import evaluation
from bench.llm_servers import expected_labels


def test_scores_match_a_hand_computed_example():
    gold = ["negative", "negative", "neutral", "positive", "positive", "neutral"]
    predicted = ["negative", "neutral", "neutral", "positive", "negative", evaluation.NO_ANSWER]
    scores = evaluation.score(gold, predicted, labels=("negative", "neutral", "positive"))
    # negative: P 1/2 R 1/2 F1 .5; neutral: P 1/2 R 1/2 F1 .5; positive: P 1 R 1/2 F1 2/3
    assert scores.accuracy == pytest.approx(3 / 6)
    assert [round(c.f1, 4) for c in scores.per_class] == [0.5, 0.5, 0.6667]
    assert scores.macro_f1 == pytest.approx((0.5 + 0.5 + 2 / 3) / 3)
    assert scores.confusion[("neutral", evaluation.NO_ANSWER)] == 1


def test_evaluation_runs_the_real_chain_and_prints_its_figures(use_tiers, fault_server, write_csv):
    rows = [("I love this - thanks", "positive"), ("line down again", "negative"), ("what time is it", "neutral"),
            ("my bill is broken", "positive"), ("merci beaucoup", "positive"), ("fibre panne", "neutral")]
    path = write_csv("labelled.csv", "tweet,label\n" + "".join(f"{t},{lab}\n" for t, lab in rows))
    use_tiers(("openai", fault_server.url), batch_size=3)
    out = StringIO()
    call_command("evaluate_analysis", str(path), "--text-column", "tweet", "--label-column", "label", stdout=out)
    report = out.getvalue()
    predicted = [expected_labels(text)["sentiment"] for text, _ in rows]
    correct = sum(p == gold for p, (_, gold) in zip(predicted, rows, strict=True))
    assert f"accuracy: {correct / len(rows):.3f}" in report
    assert "macro-F1:" in report and "confusion matrix" in report and "tweets/s" in report
    assert "providers: openai/openai-model 6" in report


def test_limit_balanced_takes_the_same_number_of_each_label(use_tiers, fault_server, write_csv):
    rows = ["a,negative"] * 5 + ["b,neutral"] * 5 + ["c,positive"] * 5
    path = write_csv("many.csv", "text,sentiment\n" + "\n".join(rows) + "\n")
    use_tiers(("openai", fault_server.url), batch_size=10)
    out = StringIO()
    call_command("evaluate_analysis", str(path), "--limit", "6", "--balanced", stdout=out)
    assert "tweets: 6" in out.getvalue() and "support 2" in out.getvalue()


def test_labels_outside_the_vocabulary_are_refused_with_the_rows(write_csv):
    path = write_csv("bad.csv", "text,sentiment\nhello,positive\nbof,mixed\nugh,angry\nmeh,mixed\n")
    with pytest.raises(CommandError, match=r"3 label\(s\) in 'sentiment' are not sentiment values .*'angry' "
                                           r"\(row 4\).*'mixed' \(row 3, 5\)"):
        call_command("evaluate_analysis", str(path))


def test_a_missing_column_is_named(write_csv):
    path = write_csv("cols.csv", "body,sentiment\nhello,positive\n")
    with pytest.raises(CommandError, match="no column 'text'; columns are: body, sentiment"):
        call_command("evaluate_analysis", str(path))


def test_emails_are_read_by_subject_then_body_and_their_queues_mapped_to_teams(use_tiers, fault_server,
                                                                                   write_csv):
    rows = [("Bill", "Hello,\n\nI was charged twice.\n\nKind regards,\nSam", "Billing and Payments"),
            ("Connection down", "Hello,\n\nNothing works since Monday.\n\nBest,\nAnn", "Technical Support"),
            ("Question", "Hello,\n\nCan I change my plan?\n\nThanks", "Sales and Pre-Sales"),
            ("Résiliation", "Bonjour,\n\nmerci de résilier.", "Human Resources")]
    lines = "".join(f'"{subject}","{body}","{queue}"\n' for subject, body, queue in rows)
    path = write_csv("emails.csv", "subject,body,queue\n" + lines)
    use_tiers(("openai", fault_server.url), batch_size=4)
    out = StringIO()
    call_command("evaluate_analysis", str(path), "--emails", "--field", "team", "--label-column", "queue",
                 "--map", "Billing and Payments=billing", "--map", "Technical Support=tech",
                 "--map", "Sales and Pre-Sales=commercial", stdout=out)
    report = out.getvalue()
    assert "3 labelled rows" in report and "e-mails: 3" in report  # Human Resources maps to no team
    # The scripted model reads "bill" in the first subject and "down" in the second; the third is commercial.
    assert "accuracy: 1.000" in report
    requests = [m["content"] for r in fault_server.requests for m in r["messages"] if m["role"] == "user"]
    assert any("Bill / Hello," in text and "I was charged twice." in text for text in requests)  # subject first


def test_a_map_without_its_equals_sign_is_refused(write_csv):
    path = write_csv("e.csv", "subject,body,queue\nA,b,c\n")
    with pytest.raises(CommandError, match="VALUE=LABEL"):
        call_command("evaluate_analysis", str(path), "--emails", "--map", "Billing")
