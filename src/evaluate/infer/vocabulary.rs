//! The built-in vocabulary: the phrases per stage and access, bare status
//! labels, and the registry's additions compiled the same way.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Value {
    Stage(Stage),
    Access(Access),
}

impl Value {
    pub(super) fn dimension(self) -> Dimension {
        match self {
            Value::Stage(_) => Dimension::Stage,
            Value::Access(_) => Dimension::Access,
        }
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Value::Stage(s) => s.as_str(),
            Value::Access(a) => a.as_str(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Plain,
    /// Used only when nothing stronger exists ("now available", "coming soon").
    Weak,
    /// A parenthesised label: belongs to the words just before it.
    Label,
    /// A GA phrase: not when negated or future.
    GaClaim,
}

pub(super) struct Rule {
    pub(super) value: Value,
    pub(super) re: Regex,
    pub(super) kind: Kind,
    /// Words that, as the first capture group, make the match not count.
    pub(super) reject_group: &'static [&'static str],
}

pub(super) fn rule(value: Value, pattern: &str, kind: Kind) -> Rule {
    let pattern = if pattern.starts_with("(?-i)") {
        pattern.to_string()
    } else {
        format!("(?i){pattern}")
    };
    Rule {
        value,
        re: ascii_regex(&pattern).expect("valid built-in rule"),
        kind,
        reject_group: &[],
    }
}

/// A regex whose classes, case folding and word boundaries are ASCII (the
/// built-in patterns are English; the only one that fails to build this way,
/// because its `.` could match half a character, stays Unicode).
///
/// Block text has its white space collapsed to ASCII spaces already
/// (`extract`), so nothing the built-in rules look for is lost, and the
/// compiled automaton is a fraction of the Unicode one: ASCII case folding
/// adds no multi-byte alternatives (`k` also matching the Kelvin sign), and
/// an ASCII `\b` keeps the fast lazy DFA on text that holds an em dash or a
/// curly quote.
pub(super) fn ascii_regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern).unicode(false).build()
}

pub(super) const NOT_RESTRICTIVE: &[&str] = &["all", "any", "every", "most", "both", "your", "the"];

pub(super) static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    use Access::{Gated, Open};
    use Kind::*;
    use Stage::*;
    let s = Value::Stage;
    let a = Value::Access;
    let mut rules = vec![
        // preview
        rule(
            s(Preview),
            r"pre-?release (?:documentation|version|software|service|feature|product|offering)s?",
            Plain,
        ),
        rule(
            s(Preview),
            r"in (?:an? )?(?:public |private |limited |gated |technical |early )?preview(?: release| state| stage| phase)?",
            Plain,
        ),
        rule(
            s(Preview),
            r"(?:public|private|limited|gated|technical|early) preview",
            Plain,
        ),
        rule(
            s(Preview),
            r"preview (?:release|offering|version|feature|program|phase|stage|period|availability|service)s?",
            Plain,
        ),
        rule(s(Preview), r"during (?:the )?preview", Plain),
        // "Pre-GA" covers alpha, beta and preview alike: it yields to any
        // of those named in the same section.
        rule(
            s(Preview),
            r"pre-ga (?:offerings?|products?|features?|releases?|terms|versions?)",
            Weak,
        ),
        rule(s(Preview), r"[(\[]preview[)\]]", Label),
        rule(s(Preview), r"early access", Plain),
        rule(s(Preview), r"experimental", Plain),
        rule(
            s(Preview),
            r"in (?:an? )?(?:private |closed |early )?alpha|alpha (?:release|version|program|phase)s?",
            Plain,
        ),
        // beta
        rule(
            s(Beta),
            r"in (?:an? )?(?:open |public |closed |private |limited )?beta(?: release| state| stage| phase| program| version| form)?s?",
            Plain,
        ),
        rule(
            s(Beta),
            r"(?:open|public|closed|private|limited) betas?",
            Plain,
        ),
        rule(
            s(Beta),
            r"beta (?:release|version|program|feature|phase|period|terms|launch|test|testing|access|availability|participants?|service|product)s?",
            Plain,
        ),
        rule(s(Beta), r"[(\[]beta[)\]]", Label),
        rule(
            s(Beta),
            r"as (?:an? )?(?:open |public |closed )?beta",
            Plain,
        ),
        // ga
        rule(s(Ga), r"generally available", GaClaim),
        rule(s(Ga), r"general availability", GaClaim),
        rule(s(Ga), r"(?-i)GA", GaClaim),
        rule(s(Ga), r"(?:is |are )?now available", Weak),
        // deprecated
        rule(s(Deprecated), r"deprecat(?:ed|es|ions?|ing|e)", Plain),
        rule(
            s(Deprecated),
            r"no longer (?:be )?(?:available|offered|supported|accepting|open) (?:to|for) new (?:customers|users|accounts|advertisers|sign-?ups)",
            Plain,
        ),
        rule(
            s(Deprecated),
            r"(?:will|to|is going to|are going to) be (?:retired|sunset|sunsetted|discontinued|shut ?(?:off|down)|turned off|decommissioned|removed)",
            Plain,
        ),
        rule(
            s(Deprecated),
            r"will (?:retire|sunset|shut ?(?:off|down)|stop working|be unavailable|no longer be (?:available|supported))",
            Plain,
        ),
        rule(s(Deprecated), r"end[- ]of[- ](?:life|support|sale)", Plain),
        rule(s(Deprecated), r"sunset(?:ting)?", Plain),
        rule(
            s(Deprecated),
            r"(?:is|are|we're|we are|is being|are being) (?:retiring|phasing out)|retiring on|(?:is|are) being (?:retired|sunset|phased out|discontinued)|scheduled (?:for|to be) (?:retirement|removal|retired|removed|shut down)",
            Plain,
        ),
        rule(s(Deprecated), r"no longer (?:supported|maintained)", Plain),
        // retired
        rule(
            s(Retired),
            r"(?:has been|have been|was|were|is now|are now|is|are) (?:retired|sunset|sunsetted|discontinued|shut ?(?:off|down)|turned off|decommissioned)",
            Plain,
        ),
        rule(s(Retired), r"retired", Plain),
        rule(s(Retired), r"no longer (?:be )?available", Plain),
        // announced
        rule(s(Announced), r"coming soon", Weak),
        rule(
            s(Announced),
            r"(?:will|to) (?:be(?:come)?|become) (?:generally )?available",
            Weak,
        ),
        rule(
            s(Announced),
            r"(?:has been|was|were|is|are) announced|\(announced\)|planned for (?:release|launch)",
            Weak,
        ),
        // access: gated
        rule(a(Gated), r"(?:closed|private) (?:betas?|previews?)", Plain),
        rule(
            a(Gated),
            r"limited (?:preview|beta|availability|release|access)",
            Plain,
        ),
        rule(
            a(Gated),
            r"(?:only|exclusively) (?:be )?(?:available|accessible|offered|open) (?:to|for)|available (?:only|exclusively) (?:to|for)",
            Plain,
        ),
        rule(
            a(Gated),
            r"(?:available|access|accessible|offered) (?:by|on|upon) (?:request|invitation|invite)",
            Plain,
        ),
        rule(
            a(Gated),
            r"by invitation(?: only)?|invit(?:e|ation)[- ]only",
            Plain,
        ),
        rule(
            a(Gated),
            r"allow[- ]?list(?:ed|ing|s)?|white[- ]?list(?:ed|ing)?",
            Plain,
        ),
        rule(
            a(Gated),
            r"(?:contact|speak (?:with|to)|talk to|reach out to|work with) (?:your |an? |the )?(?:[\w-]+ )?(?:account (?:executive|team|manager|representative|rep)|sales (?:team|representative|rep))s?",
            Plain,
        ),
        rule(
            a(Gated),
            r"request (?:early |preview |beta )?access|access request|apply for (?:early )?access|request to join|join (?:the )?wait-?list|wait-?list|early access program|(?:sign up|apply|register) (?:to join |for |to )(?:the )?(?:beta|preview|early access|program|waitlist)|join the (?:beta|preview|early access program)",
            Plain,
        ),
        rule(
            a(Gated),
            r"(?:requires?|required to have|need to have) (?:an? |at least one |one or more )?(?:[\w-]+ ){0,4}(?:account|subscription)s?",
            Plain,
        ),
        rule(
            a(Gated),
            r"eligible (?:advertisers|customers|accounts|sellers|vendors|partners|users|organizations|instances|brands)|eligibility (?:requirements|criteria)|(?:must|to) (?:be eligible|meet (?:the |certain )?eligibility)",
            Plain,
        ),
        rule(
            a(Gated),
            r"access (?:to (?:[\w-]+ ){1,5})?(?:is |are )?(?:currently |only )?(?:managed|granted|controlled|handled|provided|approved) (?:by|through|via) (?:[\w{}%.-]+ ){0,5}?[\w{}%.-]*(?:sales|account (?:team|manager|executive|representative))",
            Plain,
        ),
        rule(
            a(Gated),
            r"(?:subject to|requires?|pending|after|upon|needs?) (?:an? |the |your )?(?:[\w-]+ )?approval|(?:request|application)s? (?:is |are )?(?:approved|reviewed|accepted)|sole discretion|selected (?:participants|customers|partners|advertisers|organizations)|(?:sign-?up|request|interest|nomination) form",
            Plain,
        ),
        // access: open
        rule(a(Open), r"(?:open|public) (?:betas?|previews?)", Plain),
        rule(
            a(Open),
            r"(?:available|accessible|open) to (?:anyone|everyone|all)\b|anyone (?:can|may) (?:use|access|join|try|install|sign up)|openly available|whether you(?:'re| are) (?:an? )?[\w-]+(?: [\w-]+)?, (?:an? )?[\w-]+(?: [\w-]+)?,? or",
            Plain,
        ),
        rule(
            a(Open),
            r"available to (?:all|any|every) (?:customers|users|advertisers|developers|accounts|organizations)|open to (?:all|everyone|the public)|no (?:invitation|invite|sign-?up) (?:is )?(?:required|needed)|without (?:an? )?invit(?:e|ation)",
            Plain,
        ),
    ];
    let mut account_type = rule(
        a(Gated),
        r"([\w-]+) accounts? (?:have|has|get|gets|receive) (?:automatic |exclusive |early )?access",
        Plain,
    );
    account_type.reject_group = NOT_RESTRICTIVE;
    rules.push(account_type);
    let mut audience = rule(
        a(Gated),
        r"available (?:only )?(?:to|for) ([\w+-]+) (?:[\w+-]+ ){0,3}(?:that|who) (?:operate|have|own|sell|use|meet|are|run)",
        Plain,
    );
    audience.reject_group = NOT_RESTRICTIVE;
    rules.push(audience);
    rules
});

/// A whole cell or short block that is just a status ("Beta", "Open beta", "GA").
pub(super) static BARE_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"(?i)^(?:(?:status|stage|launch stage|release phase|feature state)\s*:\s*)?(?:(?P<q>open|public|closed|private|limited|technical)\s+)?(?P<s>beta|preview|alpha|experimental|deprecated|retired|discontinued|coming soon|upcoming|announced|generally available|general availability)(?:\s+release)?$",
    )
    .expect("valid regex")
});

/// Registry phrases, matched like the built-in ones.
pub(super) fn extra_rules(extra: &Vocabulary) -> Vec<Rule> {
    let pattern = |p: &str| {
        p.split_whitespace()
            .map(regex::escape)
            .collect::<Vec<_>>()
            .join(r"\s+")
    };
    let stage = extra
        .stage
        .iter()
        .map(|(s, p)| (Value::Stage(*s), pattern(p)));
    let access = extra
        .access
        .iter()
        .map(|(a, p)| (Value::Access(*a), pattern(p)));
    stage
        .chain(access)
        .filter(|(_, p)| !p.is_empty())
        .filter_map(|(value, p)| {
            Some(Rule {
                value,
                re: Regex::new(&format!("(?i){p}")).ok()?,
                kind: Kind::Plain,
                reject_group: &[],
            })
        })
        .collect()
}
