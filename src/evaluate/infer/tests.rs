use super::*;

/// The matcher used to be this regex; it must find the same mentions.
fn regex_mentions(subject: &Subject, text: &str) -> Vec<(usize, usize)> {
    let mut names: Vec<&str> = std::iter::once(subject.name.as_str())
        .chain(subject.aliases.iter().map(String::as_str))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    names.dedup();
    if names.is_empty() {
        return Vec::new();
    }
    let alts: Vec<String> = names
        .iter()
        .map(|n| {
            n.split_whitespace()
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join(r"[\s\u{a0}]+")
        })
        .collect();
    let re = Regex::new(&format!("(?i)(?:{})", alts.join("|"))).unwrap();
    re.find_iter(text)
        .filter(|m| {
            let before = text[..m.start()].chars().next_back();
            let after = text[m.end()..].chars().next();
            let ok = |c: Option<char>| !c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            ok(before) && ok(after)
        })
        .map(|m| (m.start(), m.end()))
        .collect()
}

#[test]
fn subject_matcher_finds_what_its_regex_found() {
    let subjects = [
        Subject::new("Ads API", &["Amazon Ads API v1", "ads api"]),
        Subject::new("Sponsored Products", &[]),
        Subject::new("C++ SDK", &["SDK (C++)"]),
        Subject::new("Éclair Σύνολο", &["straße"]),
        Subject::new("  ", &[]),
    ];
    let texts = [
        "The Ads API is in beta. The AMAZON ADS API V1 is GA; ads\u{a0}api too.",
        "Ads  API, ads\tapi and Ads\nAPI; not AdsAPI, not Ads APIs, not MyAds API.",
        "Amazon Ads API v1x and Amazon Ads API v1 and Ads API_v2 and _Ads API.",
        "sponsored products, SPONSORED PRODUCTS and Sponsored Productsy.",
        "The C++ SDK and the c++ sdk and SDK (C++) are here; C++ SDKs are not.",
        "ÉCLAIR ΣΎΝΟΛΟ and éclair σύνολο; STRASSE is not straße but STRAẞE is.",
        "",
        "Ads",
    ];
    for s in &subjects {
        let m = SubjectMatcher::new(s);
        for t in texts {
            assert_eq!(m.find(t), regex_mentions(s, t), "{s:?} in {t:?}");
        }
    }
}

fn block(kind: BlockKind, text: &str) -> Block {
    Block {
        kind,
        text: text.into(),
        links: Vec::new(),
    }
}

fn para(text: &str) -> Block {
    block(BlockKind::Paragraph, text)
}

fn page(blocks: Vec<Block>) -> Page {
    Page {
        title: None,
        blocks,
    }
}

fn run(p: &Page, name: &str) -> Inference {
    infer(p, &Subject::new(name, &[]), &Vocabulary::default())
}

/// Stage and access from one body paragraph about "Widget".
#[test]
fn sentence_phrases_table() {
    use Access::{Gated, Open};
    use Stage::*;
    const SU: Stage = Stage::Unknown;
    const AU: Access = Access::Unknown;
    let cases: &[(&str, Stage, Access)] = &[
        ("Widget is in preview.", Preview, AU),
        ("Widget is currently in public preview.", Preview, Open),
        ("Widget is available in limited preview.", Preview, Gated),
        (
            "Widget is in private preview; contact your account team.",
            Preview,
            Gated,
        ),
        (
            "Widget is a preview offering subject to the Pre-GA Offerings Terms.",
            Preview,
            AU,
        ),
        ("Widget is in open beta.", Beta, Open),
        ("Widget is in closed beta.", Beta, Gated),
        (
            "Widget is in public beta and subject to change.",
            Beta,
            Open,
        ),
        ("Widget (beta) is now available.", Beta, AU),
        ("Widget now available in closed beta.", Beta, Gated),
        ("Before using Widget, accept the beta terms.", Beta, AU),
        ("Widget is experimental.", Preview, AU),
        ("Widget is now generally available.", Ga, AU),
        ("Widget GA release.", Ga, AU),
        ("Widget is now available.", Ga, AU),
        ("Widget is deprecated.", Deprecated, AU),
        (
            "Widget will be deprecated on December 1, 2030.",
            Deprecated,
            AU,
        ),
        ("Widget will be retired on June 30.", Deprecated, AU),
        (
            "Widget is no longer available to new customers.",
            Deprecated,
            AU,
        ),
        ("Widget was retired in 2024.", Retired, AU),
        ("Widget has been shut off.", Retired, AU),
        ("Widget is coming soon.", Announced, AU),
        (
            "Widget will be generally available next year.",
            Announced,
            AU,
        ),
        (
            "Widget is only available to allow-listed advertisers.",
            SU,
            Gated,
        ),
        ("Widget is available by request.", SU, Gated),
        ("Widget is invite-only.", SU, Gated),
        (
            "To use Widget, speak with your account executive.",
            SU,
            Gated,
        ),
        (
            "You are required to have at least one DSP Advertiser Account to use Widget.",
            SU,
            Gated,
        ),
        ("Widget is available to eligible advertisers.", SU, Gated),
        (
            "Manager accounts have automatic access to Widget.",
            SU,
            Gated,
        ),
        ("All accounts have access to Widget.", SU, AU),
        ("Widget is available to all customers.", SU, Open),
        ("Widget is in private alpha.", Preview, AU),
        (
            "Widget, previously in preview, is now generally available.",
            Ga,
            AU,
        ),
        ("Widget has reached general availability (GA).", Ga, AU),
        ("Widget is a generally available service.", Ga, AU),
        ("Widget went GA last week.", Ga, AU),
        (
            "Widget is now generally available worldwide for all advertisers.",
            Ga,
            AU,
        ),
        ("To use Widget, join the beta program.", Beta, Gated),
        (
            "Widget is available to customers who have an Enterprise plan.",
            SU,
            Gated,
        ),
        (
            "This feature is covered by the Pre-GA Offerings Terms for Widget.",
            Preview,
            AU,
        ),
    ];
    for (text, stage, access) in cases {
        let got = run(&page(vec![para(text)]), "Widget");
        assert_eq!(
            (got.status.stage, got.status.access),
            (*stage, *access),
            "{text}: {:?} {:?}",
            got.evidence,
            got.notes
        );
    }
}

/// Phrases that must not count for "Widget".
#[test]
fn traps_table() {
    let cases: &[&str] = &[
        "Gadget is in beta. Widget helps you build dashboards.",
        "Widget works with the Gadget dataset (beta).",
        "Gadget metrics are now available in beta through Widget.",
        "Use the model gemini-2.5-widget-preview-10-2025 with Widget.",
        "See #dataset-beta for Widget data.",
        "Set beta_feature=true in Widget.",
        "Widget is not yet generally available.",
        "Widget features can change before general availability (GA).",
        "Widget works with features that are in beta, preview, or otherwise not yet released into general availability.",
        "Widget is no longer in beta.",
        "Widget uses a Pre-GA component.",
        "Widget uses the generally available version of Gadget.",
        "Widget works with generally available Gadget clusters.",
        "Widget reports on GA4 properties.",
        "Widget has graduated from beta.",
        "The epsilon value that Widget lets you preview.",
    ];
    for text in cases {
        let got = run(&page(vec![para(text)]), "Widget");
        assert_eq!(
            got.status.stage,
            Stage::Unknown,
            "{text}: {:?}",
            got.evidence
        );
    }
}

#[test]
fn nothing_said_means_unknown() {
    let p = page(vec![
        block(BlockKind::Heading(1), "Widget"),
        para("Widget lets you build dashboards."),
    ]);
    let got = run(&p, "Widget");
    assert_eq!(got.status, Status::unknown());
    assert!(got.evidence.is_empty());
}

#[test]
fn link_text_alone_does_not_count() {
    let mut b = para("Read about Widget in the beta program guide.");
    let s = b.text.find("the beta").unwrap();
    b.links.push((s, s + "the beta program guide".len()));
    let got = run(&page(vec![b]), "Widget");
    assert_eq!(got.status.stage, Stage::Unknown, "{:?}", got.evidence);
}

#[test]
fn quoted_names_negations_and_lists_after_prepositions() {
    for text in [
        "Submit a ticket about Widget with the title \u{201c}Widget deprecation\u{201d}.",
        "For resources of Widget noted as \"closed beta,\" see the guide.",
        "This deprecation does not include Widget snapshots or Widget.",
        "Reports API now available for Gadget, Sprocket, and Widget.",
        "Widget bespoke solutions is now available for all users.",
        "Signals are now available for Widget Platform (Widget).",
    ] {
        let got = run(&page(vec![para(text)]), "Widget");
        assert_eq!(
            got.status.stage,
            Stage::Unknown,
            "{text}: {:?}",
            got.evidence
        );
        assert_eq!(
            got.status.access,
            Access::Unknown,
            "{text}: {:?}",
            got.evidence
        );
    }
}

#[test]
fn a_top_callout_naming_something_else_is_not_a_banner() {
    let p = page(vec![
        block(BlockKind::Callout, "The Gadget role is in public beta."),
        para("Widget lets you manage roles."),
    ]);
    assert_eq!(run(&p, "Widget").status.stage, Stage::Unknown);
    let p = page(vec![
        block(BlockKind::Callout, "Preview"),
        para("Widget lets you manage roles."),
    ]);
    assert_eq!(run(&p, "Widget").status.stage, Stage::Preview);
}

#[test]
fn a_list_title_is_not_a_status() {
    let p = page(vec![
        block(BlockKind::Heading(1), "Planned deprecations"),
        para("Gadget will be deprecated on May 1, 2030."),
    ]);
    assert_eq!(run(&p, "Widget").status.stage, Stage::Unknown);
    assert_eq!(run(&p, "Gadget").status.stage, Stage::Deprecated);
}

#[test]
fn title_counts_without_naming_the_subject() {
    let p = page(vec![
        block(BlockKind::Heading(1), "Forecasting API (beta)"),
        para("The API provides forecasts."),
    ]);
    let got = run(&p, "Forecasts");
    assert_eq!(got.status.stage, Stage::Beta);
    assert!(
        got.evidence[0].rule.contains("in title"),
        "{:?}",
        got.evidence
    );
}

#[test]
fn top_banner_counts_without_naming_the_subject() {
    let p = page(vec![
        block(
            BlockKind::Callout,
            "This product or feature is in limited preview.",
        ),
        para("Widget does things."),
        block(BlockKind::Heading(2), "Details"),
        block(BlockKind::Callout, "Something unrelated is in beta."),
    ]);
    let got = run(&p, "Widget");
    assert_eq!(got.status.stage, Stage::Preview, "{:?}", got.evidence);
    assert_eq!(got.status.access, Access::Gated);
}

#[test]
fn a_partial_banner_needs_the_subject() {
    let p = page(vec![
        block(
            BlockKind::Callout,
            "Some workloads in this article are in preview, including Gadget.",
        ),
        para("Widget analyses video."),
    ]);
    assert_eq!(run(&p, "Widget").status.stage, Stage::Unknown);
    assert_eq!(run(&p, "Gadget").status.stage, Stage::Preview);
}

#[test]
fn labels_belong_to_the_name_right_before_them() {
    let p = page(vec![para(
        "Explore AMC Paid Features (beta) in the sandbox.",
    )]);
    assert_eq!(run(&p, "AMC").status.stage, Stage::Unknown);
    assert_eq!(run(&p, "AMC Paid Features").status.stage, Stage::Beta);
    let p = page(vec![para("The Widget dataset (beta) is ready.")]);
    assert_eq!(run(&p, "Widget").status.stage, Stage::Beta);
}

#[test]
fn a_name_that_continues_is_another_thing() {
    for text in [
        "All audience data will be available in your Widget instance.",
        "Widget playbooks are now available to all users.",
        "Widget v2 is in closed beta.",
        "Widget's reporting add-on is in beta.",
        "Make the endpoints available to all customers with an Widget account.",
    ] {
        let got = run(&page(vec![para(text)]), "Widget");
        assert_eq!(got.status, Status::unknown(), "{text}: {:?}", got.evidence);
    }
}

#[test]
fn partial_sentences_need_the_subject_listed() {
    let p = page(vec![para("Some reports in Widget are in beta.")]);
    assert_eq!(run(&p, "Widget").status.stage, Stage::Unknown);
    let p = page(vec![para(
        "Some workloads are in preview, including Widget and Gadget.",
    )]);
    assert_eq!(run(&p, "Widget").status.stage, Stage::Preview);
}

#[test]
fn stronger_place_wins() {
    let p = page(vec![
        block(BlockKind::Heading(1), "Widget (Preview)"),
        block(BlockKind::Heading(2), "Details"),
        para("Widget is generally available in the console."),
    ]);
    let got = run(&p, "Widget");
    assert_eq!(got.status.stage, Stage::Preview);
    assert!(
        got.notes.iter().any(|n| n.contains("set aside: ga")),
        "{:?}",
        got.notes
    );
}

#[test]
fn equal_places_that_disagree_give_unknown() {
    let p = page(vec![
        para("Widget is in beta."),
        para("Widget is generally available."),
    ]);
    let got = run(&p, "Widget");
    assert_eq!(got.status.stage, Stage::Unknown);
    assert_eq!(got.evidence.len(), 2);
    assert!(
        got.notes
            .contains(&"conflicting stage evidence: beta vs ga".to_string())
    );
}

#[test]
fn now_clause_wins_over_past_beta() {
    let p = page(vec![para(
        "We are excited to announce that Widget, which was first launched as beta on June 21, 2022, is now generally available.",
    )]);
    let got = run(&p, "Widget");
    assert_eq!(got.status.stage, Stage::Ga, "{:?}", got.evidence);
}

#[test]
fn past_beta_alone_still_counts() {
    let p = page(vec![para(
        "This lists the programs for Widget, which was released to open beta in May 2025.",
    )]);
    assert_eq!(run(&p, "Widget").status.stage, Stage::Beta);
}

#[test]
fn newest_dated_section_wins_by_date_not_order() {
    let p = page(vec![
        block(BlockKind::Heading(1), "Release notes"),
        block(BlockKind::Heading(2), "March 2024"),
        para("Widget is in beta."),
        block(BlockKind::Heading(2), "2024-11-05"),
        para("Widget is now generally available."),
        block(BlockKind::Heading(2), "June 3, 2024"),
        para("Widget (beta) adds charts."),
    ]);
    let got = run(&p, "Widget");
    assert_eq!(
        got.status.stage,
        Stage::Ga,
        "{:?} {:?}",
        got.evidence,
        got.notes
    );
    assert!(got.evidence[0].rule.contains("2024-11-05"));
}

#[test]
fn table_rows_are_one_sentence_with_label_cells() {
    let p = page(vec![
        block(BlockKind::TableRow, "API | Status"),
        block(BlockKind::TableRow, "Account registration | Closed beta"),
        block(BlockKind::TableRow, "Forecasts | Open beta"),
    ]);
    let got = run(&p, "Account registration");
    assert_eq!(
        (got.status.stage, got.status.access),
        (Stage::Beta, Access::Gated)
    );
    let got = run(&p, "Forecasts");
    assert_eq!(
        (got.status.stage, got.status.access),
        (Stage::Beta, Access::Open)
    );
}

#[test]
fn regions_from_codes_lists_and_labels() {
    let cases: &[(&str, &[&str])] = &[
        (
            "Widget is available in US/CA/JP marketplaces.",
            &["CA", "JP", "US"],
        ),
        (
            "For now, Widget is only supported in the us-east-1 region.",
            &["us-east-1"],
        ),
        (
            "Widget is available in us-east-1 and eu-west-1.",
            &["eu-west-1", "us-east-1"],
        ),
        ("Widget is available in all regions.", &["global"]),
        ("Widget is in open beta in the US and UK.", &["UK", "US"]),
        ("Widget is in preview in eu-west-1.", &["eu-west-1"]),
        ("Widget launched in the US marketplace.", &["US"]),
        ("Widget costs less in US dollars.", &[]),
        ("Widget signals: US/CA/MX marketplaces.", &[]),
        ("Widget is not available in CA or MX marketplaces.", &[]),
        ("Widget is available in all marketplaces except JP.", &[]),
    ];
    for (text, want) in cases {
        let got = run(&page(vec![para(text)]), "Widget");
        assert_eq!(
            got.status.regions,
            Regions::new(want.iter().copied()),
            "{text}"
        );
    }
    let p = page(vec![
        block(BlockKind::Heading(4), "Widget now supports exports"),
        para("Regions: US, CA, UK"),
        block(BlockKind::Heading(4), "Gadget update"),
        para("Regions: All"),
    ]);
    assert_eq!(
        run(&p, "Widget").status.regions,
        Regions::new(["CA", "UK", "US"])
    );
}

#[test]
fn anaphora_after_a_naming_sentence() {
    let p = page(vec![para(
        "Widget is a channel dataset. This resource is available to advertisers that operate channels.",
    )]);
    assert_eq!(run(&p, "Widget").status.access, Access::Gated);
}

#[test]
fn registry_vocabulary_adds_phrases() {
    let p = page(vec![para("Widget is in the pilot program.")]);
    assert_eq!(run(&p, "Widget").status.stage, Stage::Unknown);
    let extra = Vocabulary {
        stage: vec![(Stage::Beta, "pilot program".into())],
        access: vec![(Access::Gated, "pilot   program".into())],
    };
    let got = infer(&p, &Subject::new("Widget", &[]), &extra);
    assert_eq!(
        (got.status.stage, got.status.access),
        (Stage::Beta, Access::Gated)
    );
    assert!(got.evidence[0].rule.contains("registry phrase"));
}

#[test]
fn aliases_and_word_bounds() {
    let p = page(vec![
        para("The ADM console is in beta."),
        para("ADMIN tools are in preview."),
    ]);
    let got = infer(
        &p,
        &Subject::new("Ads data manager", &["ADM"]),
        &Vocabulary::default(),
    );
    assert_eq!(got.status.stage, Stage::Beta, "{:?}", got.evidence);
}

#[test]
fn long_quotes_are_shortened_around_the_phrase() {
    let long = format!(
        "{} Widget is in beta {}",
        "word ".repeat(100),
        "more ".repeat(100)
    );
    let got = run(&page(vec![para(&long)]), "Widget");
    let q = &got.evidence[0].quote;
    assert!(q.chars().count() <= QUOTE_MAX + 2, "{}", q.len());
    assert!(q.contains("Widget is in beta") && q.starts_with('…') && q.ends_with('…'));
}

#[test]
fn sentence_split_keeps_abbreviations() {
    let b = para("Use e.g. Widget here. It is in beta! Next? Yes. Version 1.2 ships. lower. case");
    let spans: Vec<_> = sentence_spans(&b)
        .into_iter()
        .map(|(s, e)| &b.text[s..e])
        .collect();
    assert_eq!(
        spans,
        vec![
            "Use e.g. Widget here.",
            "It is in beta!",
            "Next?",
            "Yes.",
            "Version 1.2 ships. lower. case"
        ]
    );
}

#[test]
fn heading_dates() {
    assert_eq!(heading_date("June 3, 2025"), Some((2025, 6, 3)));
    assert_eq!(heading_date("September 2025"), Some((2025, 9, 0)));
    assert_eq!(heading_date("2024-11-05"), Some((2024, 11, 5)));
    assert_eq!(heading_date("Release 3 June 2025"), Some((2025, 6, 3)));
    assert_eq!(
        heading_date("Posts are deprecated as of June 3, 2025"),
        None
    );
    assert_eq!(heading_date("Widget overview"), None);
}

#[test]
fn serializes_status_at_top_level() {
    let got = run(
        &page(vec![para(
            "Widget is in closed beta in US/UK marketplaces.",
        )]),
        "Widget",
    );
    let v = serde_json::to_value(&got).unwrap();
    assert_eq!(v["stage"], "beta");
    assert_eq!(v["access"], "gated");
    assert_eq!(v["regions"], serde_json::json!(["UK", "US"]));
    assert!(
        v["evidence"][0]["quote"]
            .as_str()
            .unwrap()
            .contains("closed beta")
    );
    assert!(
        v["evidence"][0]["rule"]
            .as_str()
            .unwrap()
            .starts_with("stage:beta")
    );
}
