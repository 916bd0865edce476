//! The shape a preferences document must keep, and how a national id number is shown masked.
//! Each check trims and normalises what it accepts and names every broken rule with a stable
//! code (`<field>.<problem>`). What a profile change may carry is the onboarding policy's to
//! decide (`changes.check-profile-change`), not this module's.

use std::collections::BTreeMap;

use usvc_types::{Violation, Violations};

use super::{ConsentChoice, PreferencesDocument};
use crate::store::preferences::NotificationSetting;

/// BCP 47 asks implementations to support tags of at least 35 characters.
pub const MAX_LANGUAGE_CHARS: usize = 35;
/// Longer than every IANA time zone name.
pub const MAX_TIME_ZONE_CHARS: usize = 64;
pub const MAX_SOURCE_CHARS: usize = 32;

/// What a customer can be told about. Security alerts cannot be switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    Security,
    Account,
    Marketing,
    Product,
}

impl Category {
    pub const ALL: [Self; 4] = [
        Self::Security,
        Self::Account,
        Self::Marketing,
        Self::Product,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Security => "security",
            Self::Account => "account",
            Self::Marketing => "marketing",
            Self::Product => "product",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// How a customer can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Channel {
    Email,
    Sms,
    Push,
}

impl Channel {
    pub const ALL: [Self; 3] = [Self::Email, Self::Sms, Self::Push];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Push => "push",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// A national id number as shown to anyone but its owner: every character but the last few
/// replaced by `*` (at most four shown, and never more than half).
pub fn mask_national_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    let shown = (chars.len() / 2).min(4);
    let hidden = chars.len() - shown;
    std::iter::repeat_n('*', hidden)
        .chain(chars[hidden..].iter().copied())
        .collect()
}

/// A preferences document after its checks: canonical language and time zone names, every
/// category in order with its channels in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPreferences {
    pub language: String,
    pub time_zone: String,
    pub notifications: Vec<NotificationSetting>,
    pub marketing: ConsentChoice,
}

/// Checks a whole preferences document. Whether a consent change names its source depends on
/// the stored consent, so the caller checks that ([`source_required`]).
pub fn check_preferences(doc: PreferencesDocument) -> Result<CheckedPreferences, Vec<Violation>> {
    let mut v = Violations::default();
    let language = language(&doc.language, &mut v).unwrap_or_default();
    let time_zone = time_zone(&doc.time_zone, &mut v).unwrap_or_default();
    let notifications = notifications(&doc.notifications, doc.marketing.granted, &mut v);
    let source = doc
        .marketing
        .source
        .as_deref()
        .and_then(|s| source(s, &mut v));
    v.into_result(CheckedPreferences {
        language,
        time_zone,
        notifications,
        marketing: ConsentChoice {
            granted: doc.marketing.granted,
            source,
        },
    })
}

/// The violation of a consent change that does not say where the customer made it.
pub fn source_required() -> Vec<Violation> {
    let mut v = Violations::default();
    v.add(
        "marketing.source",
        "marketing.source.missing",
        "Say where the customer gave or withdrew marketing consent (for example `app`, `web` or `branch`).",
    );
    v.into_vec()
}

/// Stored settings in canonical order, with every category (an absent one has no channel).
pub fn canonical_notifications(settings: &[NotificationSetting]) -> Vec<NotificationSetting> {
    let mut by_category: BTreeMap<Category, Vec<Channel>> =
        Category::ALL.into_iter().map(|c| (c, Vec::new())).collect();
    for setting in settings {
        if let Some(category) = Category::parse(&setting.category) {
            let channels = by_category.entry(category).or_default();
            channels.extend(setting.channels.iter().filter_map(|c| Channel::parse(c)));
            channels.sort();
            channels.dedup();
        }
    }
    render(by_category)
}

fn render(by_category: BTreeMap<Category, Vec<Channel>>) -> Vec<NotificationSetting> {
    by_category
        .into_iter()
        .map(|(category, channels)| NotificationSetting {
            category: category.as_str().to_owned(),
            channels: channels.iter().map(|c| c.as_str().to_owned()).collect(),
        })
        .collect()
}

/// A BCP 47 language tag (`en`, `en-GB`, `zh-Hant-TW`), answered in canonical case.
fn language(raw: &str, v: &mut Violations) -> Option<String> {
    const FIELD: &str = "language";
    let raw = raw.trim();
    if raw.is_empty() {
        v.add(FIELD, "language.missing", "Choose a language.");
        return None;
    }
    let locale = (raw.len() <= MAX_LANGUAGE_CHARS)
        .then(|| icu_locale_core::Locale::try_from_str(raw).ok())
        .flatten()
        .filter(|l| !l.id.language.is_unknown());
    match locale {
        Some(locale) => Some(locale.to_string()),
        None => {
            v.add(
                FIELD,
                "language.invalid",
                "Give a BCP 47 language tag, such as `en` or `en-GB`.",
            );
            None
        }
    }
}

/// An IANA time zone name (`Europe/London`), answered with its canonical spelling.
fn time_zone(raw: &str, v: &mut Violations) -> Option<String> {
    const FIELD: &str = "time_zone";
    let raw = raw.trim();
    if raw.is_empty() {
        v.add(FIELD, "time_zone.missing", "Choose a time zone.");
        return None;
    }
    let zone = (raw.len() <= MAX_TIME_ZONE_CHARS)
        .then(|| jiff::tz::db().get(raw).ok())
        .flatten();
    match zone {
        Some(zone) => Some(zone.iana_name().unwrap_or(raw).to_owned()),
        None => {
            v.add(
                FIELD,
                "time_zone.unknown",
                "Give an IANA time zone name, such as `Europe/London`.",
            );
            None
        }
    }
}

/// Known categories and channels, each category once, security alerts on at least one channel,
/// and marketing channels only with marketing consent.
fn notifications(
    settings: &[NotificationSetting],
    marketing_consent: bool,
    v: &mut Violations,
) -> Vec<NotificationSetting> {
    let mut by_category: BTreeMap<Category, Vec<Channel>> = BTreeMap::new();
    let mut unknown_category = false;
    for setting in settings {
        let Some(category) = Category::parse(&setting.category) else {
            unknown_category = true;
            continue;
        };
        if by_category.contains_key(&category) {
            v.add(
                "notifications",
                "notifications.duplicate_category",
                format!("`{}` is given more than once.", category.as_str()),
            );
            continue;
        }
        let mut channels = Vec::new();
        let mut unknown_channel = false;
        for channel in &setting.channels {
            match Channel::parse(channel) {
                Some(channel) => channels.push(channel),
                None => unknown_channel = true,
            }
        }
        if unknown_channel {
            v.add(
                &format!("notifications.{}", category.as_str()),
                "notifications.unknown_channel",
                "Channels are `email`, `sms` and `push`.",
            );
        }
        channels.sort();
        channels.dedup();
        by_category.insert(category, channels);
    }
    if unknown_category {
        v.add(
            "notifications",
            "notifications.unknown_category",
            "Categories are `security`, `account`, `marketing` and `product`.",
        );
    }
    for category in Category::ALL {
        by_category.entry(category).or_default();
    }
    if by_category[&Category::Security].is_empty() {
        v.add(
            "notifications.security",
            "notifications.security_required",
            "Security alerts cannot be switched off: keep at least one channel.",
        );
    }
    if !marketing_consent && !by_category[&Category::Marketing].is_empty() {
        v.add(
            "notifications.marketing",
            "notifications.marketing_without_consent",
            "Marketing messages need marketing consent.",
        );
    }
    render(by_category)
}

/// Where consent was given: a short lower-case word (`app`, `web`, `branch`, `call-centre`).
fn source(raw: &str, v: &mut Violations) -> Option<String> {
    let source = raw.trim().to_ascii_lowercase();
    if source.is_empty() {
        return None;
    }
    let ok = source.len() <= MAX_SOURCE_CHARS
        && source
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok {
        v.add(
            "marketing.source",
            "marketing.source.invalid",
            format!(
                "A source is a word of at most {MAX_SOURCE_CHARS} letters, digits, `-` or `_`."
            ),
        );
        return None;
    }
    Some(source)
}
