//! The region lexicon: the names documentation pages give to regions and
//! marketplaces, and the codes capwatch records for them.
//!
//! - AWS Regions by name ("US East (N. Virginia)" → `us-east-1`); AWS codes
//!   themselves are matched by pattern in `regions`.
//! - Azure regions by display name ("West Europe" → `westeurope`) and by code
//!   (`francecentral`); the code is the display name in lower case without
//!   spaces.
//! - Google Cloud region codes (`europe-west1`, `us-central1`).
//! - Countries and Amazon marketplaces by name ("the United Kingdom" → `UK`,
//!   "Germany" → `DE`, "European Union" → `EU`), in the two-letter codes that
//!   Amazon's marketplace lists use (`UK`, not `GB`).
//!
//! In: a piece of text. Out: every place found, as a byte span and a code.

use super::*;
use std::collections::HashMap;

/// AWS Region names as the consoles and docs write them.
const AWS_NAMES: &[(&str, &str)] = &[
    ("US East (N. Virginia)", "us-east-1"),
    ("US East (Ohio)", "us-east-2"),
    ("US West (N. California)", "us-west-1"),
    ("US West (Oregon)", "us-west-2"),
    ("Africa (Cape Town)", "af-south-1"),
    ("Asia Pacific (Hong Kong)", "ap-east-1"),
    ("Asia Pacific (Taipei)", "ap-east-2"),
    ("Asia Pacific (Hyderabad)", "ap-south-2"),
    ("Asia Pacific (Jakarta)", "ap-southeast-3"),
    ("Asia Pacific (Malaysia)", "ap-southeast-5"),
    ("Asia Pacific (Melbourne)", "ap-southeast-4"),
    ("Asia Pacific (Mumbai)", "ap-south-1"),
    ("Asia Pacific (New Zealand)", "ap-southeast-6"),
    ("Asia Pacific (Osaka)", "ap-northeast-3"),
    ("Asia Pacific (Seoul)", "ap-northeast-2"),
    ("Asia Pacific (Singapore)", "ap-southeast-1"),
    ("Asia Pacific (Sydney)", "ap-southeast-2"),
    ("Asia Pacific (Thailand)", "ap-southeast-7"),
    ("Asia Pacific (Tokyo)", "ap-northeast-1"),
    ("Canada (Central)", "ca-central-1"),
    ("Canada West (Calgary)", "ca-west-1"),
    ("Europe (Frankfurt)", "eu-central-1"),
    ("Europe (Ireland)", "eu-west-1"),
    ("Europe (London)", "eu-west-2"),
    ("Europe (Milan)", "eu-south-1"),
    ("Europe (Paris)", "eu-west-3"),
    ("Europe (Spain)", "eu-south-2"),
    ("Europe (Stockholm)", "eu-north-1"),
    ("Europe (Zurich)", "eu-central-2"),
    ("Israel (Tel Aviv)", "il-central-1"),
    ("Mexico (Central)", "mx-central-1"),
    ("Middle East (Bahrain)", "me-south-1"),
    ("Middle East (UAE)", "me-central-1"),
    ("South America (Sao Paulo)", "sa-east-1"),
    ("South America (São Paulo)", "sa-east-1"),
    ("AWS GovCloud (US-East)", "us-gov-east-1"),
    ("AWS GovCloud (US-West)", "us-gov-west-1"),
];

/// Azure region display names; the code is the name in lower case without spaces.
const AZURE_NAMES: &[&str] = &[
    "East US",
    "East US 2",
    "East US 3",
    "West US",
    "West US 2",
    "West US 3",
    "Central US",
    "North Central US",
    "South Central US",
    "West Central US",
    "Canada Central",
    "Canada East",
    "Brazil South",
    "Brazil Southeast",
    "Mexico Central",
    "Chile Central",
    "North Europe",
    "West Europe",
    "UK South",
    "UK West",
    "France Central",
    "France South",
    "Germany West Central",
    "Germany North",
    "Switzerland North",
    "Switzerland West",
    "Norway East",
    "Norway West",
    "Sweden Central",
    "Sweden South",
    "Poland Central",
    "Italy North",
    "Spain Central",
    "Austria East",
    "Belgium Central",
    "Denmark East",
    "Australia East",
    "Australia Southeast",
    "Australia Central",
    "Australia Central 2",
    "East Asia",
    "Southeast Asia",
    "Japan East",
    "Japan West",
    "Korea Central",
    "Korea South",
    "Central India",
    "South India",
    "West India",
    "Jio India West",
    "Jio India Central",
    "UAE North",
    "UAE Central",
    "Qatar Central",
    "Israel Central",
    "South Africa North",
    "South Africa West",
    "New Zealand North",
    "Indonesia Central",
    "Malaysia West",
    "Taiwan North",
];

/// Countries, unions and marketplaces by name, with the code Amazon's
/// marketplace lists use.
const COUNTRY_NAMES: &[(&str, &str)] = &[
    ("United States of America", "US"),
    ("United States", "US"),
    ("USA", "US"),
    ("U.S.", "US"),
    ("Canada", "CA"),
    ("Mexico", "MX"),
    ("Brazil", "BR"),
    ("United Kingdom", "UK"),
    ("Great Britain", "UK"),
    ("Germany", "DE"),
    ("France", "FR"),
    ("Italy", "IT"),
    ("Spain", "ES"),
    ("Netherlands", "NL"),
    ("Sweden", "SE"),
    ("Poland", "PL"),
    ("Belgium", "BE"),
    ("Turkey", "TR"),
    ("Türkiye", "TR"),
    ("Turkiye", "TR"),
    ("United Arab Emirates", "AE"),
    ("Saudi Arabia", "SA"),
    ("Egypt", "EG"),
    ("India", "IN"),
    ("Japan", "JP"),
    ("Australia", "AU"),
    ("Singapore", "SG"),
    ("Ireland", "IE"),
    ("South Africa", "ZA"),
    ("New Zealand", "NZ"),
    ("South Korea", "KR"),
    ("Korea", "KR"),
    ("China", "CN"),
    ("Austria", "AT"),
    ("Switzerland", "CH"),
    ("Denmark", "DK"),
    ("Norway", "NO"),
    ("Finland", "FI"),
    ("Portugal", "PT"),
    ("Colombia", "CO"),
    ("Chile", "CL"),
    ("Argentina", "AR"),
    ("European Union", "EU"),
];

/// Google Cloud region codes: `europe-west1`, `us-central1`, `northamerica-northeast2`.
static GCP_REGION: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(
        r"\b(?:us|europe|asia|australia|northamerica|southamerica|me|africa)-(?:central|north|south|east|west|northeast|southeast|northwest|southwest)\d{1,2}\b",
    )
    .expect("valid regex")
});

struct Lexicon {
    /// Every name, longest first, as one alternation.
    names: Regex,
    /// Azure codes as whole lower-case words.
    azure_codes: Regex,
    /// A name (spaces collapsed) → its code.
    code_of: HashMap<String, String>,
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    let mut code_of = HashMap::new();
    let mut names: Vec<&str> = Vec::new();
    for (name, code) in AWS_NAMES.iter().chain(COUNTRY_NAMES) {
        code_of.insert(name.to_string(), code.to_string());
        names.push(name);
    }
    let azure_code = |n: &str| n.to_ascii_lowercase().replace(' ', "");
    for name in AZURE_NAMES {
        code_of.insert(name.to_string(), azure_code(name));
        names.push(name);
    }
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let alternation = names
        .iter()
        .map(|n| {
            n.split(' ')
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join(r"\s+")
        })
        .collect::<Vec<_>>()
        .join("|");
    // Names are proper nouns: matched as written (case-sensitive); whole
    // words are checked at each match.
    let names = Regex::new(&format!("(?:{alternation})")).expect("valid lexicon");
    let mut codes: Vec<String> = AZURE_NAMES.iter().map(|n| azure_code(n)).collect();
    codes.sort_by_key(|c| std::cmp::Reverse(c.len()));
    let azure_codes = ascii_regex(&format!(r"\b(?:{})\b", codes.join("|"))).expect("valid lexicon");
    Lexicon {
        names,
        azure_codes,
        code_of,
    }
});

/// Every region, marketplace or country named in `text`, by name or by an
/// Azure or Google Cloud code: (start, end, code).
pub(super) fn named_places(text: &str) -> Vec<(usize, usize, String)> {
    let lex = &*LEXICON;
    let mut out = Vec::new();
    for m in lex.names.find_iter(text) {
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if word(before) || word(after) {
            continue;
        }
        let key: String = m.as_str().split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(code) = lex.code_of.get(&key) {
            out.push((m.start(), m.end(), code.clone()));
        }
    }
    for m in lex.azure_codes.find_iter(text) {
        out.push((m.start(), m.end(), m.as_str().to_string()));
    }
    for m in GCP_REGION.find_iter(text) {
        out.push((m.start(), m.end(), m.as_str().to_string()));
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<String> {
        named_places(text).into_iter().map(|p| p.2).collect()
    }

    #[test]
    fn aws_region_names_map_to_codes() {
        assert_eq!(
            codes("US East (N. Virginia) Region (us-east-1) and US East (Ohio)"),
            ["us-east-1", "us-east-2"]
        );
        assert_eq!(codes("Europe (Frankfurt)"), ["eu-central-1"]);
    }

    #[test]
    fn azure_names_and_codes() {
        assert_eq!(codes("West Europe, East US 2"), ["westeurope", "eastus2"]);
        assert_eq!(
            codes("`francecentral`, `germanywestcentral`"),
            ["francecentral", "germanywestcentral"]
        );
        // The longer name wins over the country inside it.
        assert_eq!(codes("Canada Central"), ["canadacentral"]);
    }

    #[test]
    fn countries_and_unions() {
        assert_eq!(
            codes("the United Kingdom, Germany, United Arab Emirates and the European Union"),
            ["UK", "DE", "AE", "EU"]
        );
        assert_eq!(
            codes("europe-west1 and us-central1"),
            ["europe-west1", "us-central1"]
        );
    }

    #[test]
    fn names_are_whole_words_and_proper_nouns() {
        assert!(codes("indiana, chinaware, canadian, japanese").is_empty());
        assert!(codes("the india team").is_empty());
    }
}
