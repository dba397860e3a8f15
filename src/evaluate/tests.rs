//! Table tests of assessment edges, with `now` injected.

use super::*;

const DAY: u64 = 86_400;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn status(stage: Stage, access: Access, regions: &[&str]) -> Status {
    Status {
        stage,
        access,
        regions: Regions::new(regions.iter().copied()),
    }
}

fn source(id: &str, current: i64, baseline: i64) -> SourceFacts {
    SourceFacts {
        id: id.into(),
        url: format!("https://example.com/{id}"),
        current_snapshot: Some(current),
        baseline_snapshot: Some(baseline),
        ..SourceFacts::default()
    }
}

fn facts() -> Facts {
    Facts {
        id: "cap".into(),
        name: "Cap".into(),
        guide: "g".into(),
        claim: status(Stage::Beta, Access::Gated, &["US"]),
        claim_quote: None,
        pinned: true,
        guide_claim: None,
        declared_validated_on: vec!["2026-06-06".parse().unwrap()],
        max_age: Duration::from_secs(90 * DAY),
        warn_before: Duration::from_secs(14 * DAY),
        failures_before_alert: 3,
        sources: vec![source("a", 1, 1)],
        reviews: vec![],
        snoozes: vec![],
    }
}

fn kinds(a: &Assessment) -> Vec<(FindingKind, bool)> {
    a.findings.iter().map(|f| (f.kind, f.snoozed)).collect()
}

#[test]
fn freshness_edges_become_findings() {
    let f = facts();
    let cases = [
        ("2026-08-20T12:00:00Z", vec![]),
        ("2026-08-21T00:00:00Z", vec![(FindingKind::DueSoon, false)]),
        ("2026-09-04T00:00:00Z", vec![(FindingKind::Expired, false)]),
    ];
    for (now, want) in cases {
        assert_eq!(kinds(&assess(&f, at(now))), want, "at {now}");
    }
}

#[test]
fn a_review_resets_validation_and_the_baseline_decides_source_changed() {
    let mut f = facts();
    f.sources = vec![source("a", 2, 1)];
    let now = at("2026-11-27T12:00:00Z");
    assert_eq!(
        kinds(&assess(&f, now)),
        vec![
            (FindingKind::Expired, false),
            (FindingKind::SourceChanged, false)
        ]
    );
    // Reviewed after the change: fresh, and snapshot 2 is the reviewed baseline.
    f.reviews.push(ReviewFact {
        id: 1,
        at: at("2026-11-20T09:00:00Z"),
        by: "ana".into(),
        note: None,
        of_guide: false,
        channel: None,
        remote_addr: None,
    });
    f.sources = vec![source("a", 2, 2)];
    let a = assess(&f, now);
    assert_eq!(a.freshness.state, State::Fresh);
    assert_eq!(a.freshness.validated_on.unwrap().to_string(), "2026-11-20");
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    // A change after the review compares with the reviewed snapshot, not the previous check.
    f.sources = vec![source("a", 3, 2)];
    assert_eq!(
        kinds(&assess(&f, now)),
        vec![(FindingKind::SourceChanged, false)]
    );
}

#[test]
fn drift_only_where_observed_is_known() {
    let mut f = facts();
    f.declared_validated_on = vec!["2026-11-20".parse().unwrap()];
    let now = at("2026-11-27T00:00:00Z");
    f.sources[0].observed = Some((status(Stage::Beta, Access::Unknown, &[]), vec![], vec![]));
    assert!(assess(&f, now).drift.is_empty());
    f.sources[0].observed = Some((
        status(Stage::Ga, Access::Unknown, &["UK", "US"]),
        vec![],
        vec![],
    ));
    let a = assess(&f, now);
    assert_eq!(a.drift, vec![Dimension::Stage, Dimension::Regions]);
    assert_eq!(kinds(&a), vec![(FindingKind::Drift, false)]);
    assert!(
        a.findings[0].summary.contains("claimed beta, docs say ga"),
        "{}",
        a.findings[0].summary
    );
}

#[test]
fn disagreeing_sources_leave_the_dimension_unknown() {
    let mut a = source("a", 1, 1);
    a.observed = Some((status(Stage::Beta, Access::Gated, &[]), vec![], vec![]));
    let mut b = source("b", 1, 1);
    b.observed = Some((status(Stage::Ga, Access::Gated, &[]), vec![], vec![]));
    let o = combine(&[a, b]);
    assert_eq!((o.stage, o.access), (Stage::Unknown, Access::Gated));
    assert!(
        o.notes.iter().any(|n| n.contains("beta (a) vs ga (b)")),
        "{:?}",
        o.notes
    );
}

#[test]
fn unreadable_after_n_failures_or_no_match() {
    let mut f = facts();
    f.declared_validated_on = vec!["2026-11-20".parse().unwrap()];
    let now = at("2026-11-27T00:00:00Z");
    f.sources[0].failures = 2;
    assert!(assess(&f, now).findings.is_empty());
    f.sources[0].failures = 3;
    f.sources[0].last_failure = Some("HTTP 500".into());
    let a = assess(&f, now);
    assert_eq!(kinds(&a), vec![(FindingKind::Unreadable, false)]);
    assert!(a.findings[0].summary.contains("HTTP 500"));
    f.sources[0].failures = 0;
    f.sources[0].no_match = true;
    assert_eq!(
        kinds(&assess(&f, now)),
        vec![(FindingKind::Unreadable, false)]
    );
}

#[test]
fn snoozes_silence_until_their_date_or_a_new_change() {
    let mut f = facts();
    f.sources = vec![source("a", 2, 1)];
    f.declared_validated_on = vec!["2026-11-20".parse().unwrap()];
    f.snoozes.push(SnoozeFact {
        id: 1,
        kind: FindingKind::SourceChanged,
        at: at("2026-11-21T00:00:00Z"),
        until: at("2026-12-01T00:00:00Z"),
        reason: "cosmetic edit".into(),
        seen_snapshots: [("a".to_string(), Some(2))].into(),
        seen_drift: vec![],
        ended_at: None,
    });
    let cases = [
        // (now, current snapshot, expected)
        (
            "2026-11-25T00:00:00Z",
            2,
            vec![(FindingKind::SourceChanged, true)],
        ),
        (
            "2026-11-30T23:59:59Z",
            2,
            vec![(FindingKind::SourceChanged, true)],
        ),
        (
            "2026-12-01T00:00:00Z",
            2,
            vec![(FindingKind::SourceChanged, false)],
        ), // snooze expired
        (
            "2026-11-25T00:00:00Z",
            3,
            vec![(FindingKind::SourceChanged, false)],
        ), // a new change ends it
    ];
    for (now, current, want) in cases {
        f.sources[0].current_snapshot = Some(current);
        assert_eq!(
            kinds(&assess(&f, at(now))),
            want,
            "at {now} with snapshot {current}"
        );
    }
}

#[test]
fn a_pinned_claim_the_guide_contradicts_is_a_claim_mismatch() {
    let mut f = facts();
    f.declared_validated_on = vec!["2026-11-20".parse().unwrap()];
    let now = at("2026-11-27T00:00:00Z");
    // The guide agrees, or says nothing on a dimension: no finding.
    f.guide_claim = Some((
        status(Stage::Beta, Access::Unknown, &[]),
        "Cap (beta) — helps.".into(),
    ));
    assert!(kinds(&assess(&f, now)).is_empty());
    // The guide now says GA.
    f.guide_claim = Some((
        status(Stage::Ga, Access::Unknown, &[]),
        "Cap is now generally available.".into(),
    ));
    let a = assess(&f, now);
    assert_eq!(kinds(&a), vec![(FindingKind::ClaimMismatch, false)]);
    let s = &a.findings[0].summary;
    assert!(
        s.contains("the registry pins beta; the guide now says ga"),
        "{s}"
    );
    assert!(
        s.contains("update one of them") && s.contains("Cap is now generally available."),
        "{s}"
    );
    // Without a pinned claim the guide's text is the claim: nothing to mismatch.
    f.pinned = false;
    assert!(kinds(&assess(&f, now)).is_empty());
}

#[test]
fn drift_shows_the_guide_sentence_beside_the_docs_sentence() {
    let mut f = facts();
    f.declared_validated_on = vec!["2026-11-20".parse().unwrap()];
    f.pinned = false;
    f.claim_quote = Some("Cap (beta) — account-gated.".into());
    let ev = EvidenceQuote {
        dimension: "stage".into(),
        quote: "Cap is generally available.".into(),
        ..EvidenceQuote::default()
    };
    f.sources[0].observed = Some((status(Stage::Ga, Access::Unknown, &[]), vec![ev], vec![]));
    let a = assess(&f, at("2026-11-27T00:00:00Z"));
    let s = &a.findings[0].summary;
    assert!(
        s.contains("Guide says: “Cap (beta) — account-gated.”"),
        "{s}"
    );
    // The docs' sentence is the finding's evidence, shown beside it.
    assert_eq!(a.observed.evidence[0].quote, "Cap is generally available.");
}
