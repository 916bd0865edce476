//! The rules a profile change and a preferences document must keep. Each check trims and
//! normalises what it accepts and names every broken rule with a stable code
//! (`<field>.<problem>`), so a client can point at the field and a test at the rule.

use std::collections::BTreeMap;

use time::Date;
use usvc_types::{CalendarDate, CountryCode, Email, PhoneE164, Violation, Violations};

use super::{ConsentChoice, PreferencesDocument, ProfileChange};
use crate::store::{preferences::NotificationSetting, profiles::Address};

/// As in onboarding: comfortably above the longest names on passports.
pub const MAX_NAME_CHARS: usize = 200;
/// One line of an address, a city or a region.
pub const MAX_ADDRESS_LINE_CHARS: usize = 100;
/// Longer than any country's postal code.
pub const MAX_POSTAL_CODE_CHARS: usize = 16;
/// BCP 47 asks implementations to support tags of at least 35 characters.
pub const MAX_LANGUAGE_CHARS: usize = 35;
/// Longer than every IANA time zone name.
pub const MAX_TIME_ZONE_CHARS: usize = 64;
pub const MAX_SOURCE_CHARS: usize = 32;
/// A national id number: the shortest and longest any issuing country uses, with room.
pub const MIN_NATIONAL_ID_CHARS: usize = 4;
pub const MAX_NATIONAL_ID_CHARS: usize = 32;
/// Older than any verified human: an earlier birth date is a typing mistake.
const OLDEST_PLAUSIBLE_AGE: i32 = 130;

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

/// Checks a profile change made on `today` (UTC); answers it trimmed and normalised.
pub fn check_change(change: ProfileChange, today: Date) -> Result<ProfileChange, Vec<Violation>> {
    let mut v = Violations::default();
    let legal_name = change
        .legal_name
        .map(|name| legal_name(&name, &mut v).unwrap_or_default());
    let date_of_birth = change
        .date_of_birth
        .map(|date| date_of_birth(&date, today, &mut v).unwrap_or_default());
    let nationality = change
        .nationality
        .map(|code| country("nationality", code.trim(), &mut v).unwrap_or_default());
    let address = change.address.map(|a| address(a, &mut v));
    let national_id = change
        .national_id
        .map(|id| national_id(&id, &mut v).unwrap_or_default());
    v.into_result(ProfileChange {
        legal_name,
        date_of_birth,
        nationality,
        address,
        national_id,
    })
}

/// A national id number: trimmed, upper-cased, 4 to 32 of `A-Z`, `0-9` and `-`.
fn national_id(raw: &str, v: &mut Violations) -> Option<String> {
    const FIELD: &str = "national_id";
    let id = raw.trim().to_uppercase();
    let length = id.chars().count();
    if !(MIN_NATIONAL_ID_CHARS..=MAX_NATIONAL_ID_CHARS).contains(&length) {
        v.add(
            FIELD,
            "national_id.length",
            format!(
                "Give {MIN_NATIONAL_ID_CHARS} to {MAX_NATIONAL_ID_CHARS} characters, as on the document."
            ),
        );
        return None;
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
    {
        v.add(
            FIELD,
            "national_id.invalid",
            "Use only letters, digits and hyphens, as on the document.",
        );
        return None;
    }
    Some(id)
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

/// A phone number in E.164, parsed as at registration (`usvc_types::PhoneE164`).
pub fn check_phone(raw: &str) -> Result<String, Vec<Violation>> {
    PhoneE164::parse(raw)
        .map(PhoneE164::into_string)
        .map_err(|error| vec![Violation::of("phone", error)])
}

/// An email address, parsed as at registration (`usvc_types::Email`): trimmed and lower-cased.
/// The onboarding policy's disposable-domain list applies at registration only.
pub fn check_email(raw: &str) -> Result<String, Vec<Violation>> {
    Email::parse(raw)
        .map(Email::into_string)
        .map_err(|error| vec![Violation::of("email", error)])
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

/// Control characters and the bidirectional embeddings, overrides and isolates that can make
/// text display as something else.
fn is_hidden_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A trimmed line of text: `<field>.missing` when blank and required, `<field>.too_long`,
/// `<field>.invalid` for hidden characters. A blank optional line is `None`.
fn text(field: &str, raw: &str, max: usize, required: bool, v: &mut Violations) -> Option<String> {
    let text = raw.trim();
    if text.is_empty() {
        if required {
            v.add(
                field,
                &format!("{field}.missing"),
                "This field is required.",
            );
        }
        return None;
    }
    let mut ok = true;
    if text.chars().count() > max {
        v.add(
            field,
            &format!("{field}.too_long"),
            format!("Use at most {max} characters."),
        );
        ok = false;
    }
    if text.chars().any(is_hidden_control) {
        v.add(
            field,
            &format!("{field}.invalid"),
            "This contains characters that cannot be printed.",
        );
        ok = false;
    }
    ok.then(|| text.to_owned())
}

fn legal_name(raw: &str, v: &mut Violations) -> Option<String> {
    text("legal_name", raw, MAX_NAME_CHARS, true, v)
}

/// A real calendar date (`usvc_types::CalendarDate`), not after today and not absurdly long ago.
fn date_of_birth(raw: &str, today: Date, v: &mut Violations) -> Option<String> {
    const FIELD: &str = "date_of_birth";
    let date = v.check(FIELD, CalendarDate::parse(raw))?;
    // The host's clock stays within the calendar's years 1 to 9999.
    let Some(today) = CalendarDate::new(today.year(), u8::from(today.month()), today.day()) else {
        v.add(
            FIELD,
            "date_of_birth.invalid",
            "Today is not a calendar date.",
        );
        return None;
    };
    if date > today {
        v.add(
            FIELD,
            "date_of_birth.in_future",
            "A date of birth cannot be in the future.",
        );
        return None;
    }
    if date.year() < today.year() - OLDEST_PLAUSIBLE_AGE {
        v.add(
            FIELD,
            "date_of_birth.implausible",
            format!("A date of birth more than {OLDEST_PLAUSIBLE_AGE} years ago is a mistake."),
        );
        return None;
    }
    Some(date.to_string())
}

/// ISO 3166-1 alpha-2, parsed as at registration (`usvc_types::CountryCode`).
fn country(field: &str, raw: &str, v: &mut Violations) -> Option<String> {
    v.check(field, CountryCode::parse(raw))
        .map(|code| code.as_str().to_owned())
}

fn address(raw: Address, v: &mut Violations) -> Address {
    let line = |field, raw: &str, required, v: &mut Violations| {
        text(field, raw, MAX_ADDRESS_LINE_CHARS, required, v)
    };
    let line1 = line("address.line1", &raw.line1, true, v);
    let line2 = raw
        .line2
        .as_deref()
        .and_then(|l| line("address.line2", l, false, v));
    let city = line("address.city", &raw.city, true, v);
    let region = raw
        .region
        .as_deref()
        .and_then(|r| line("address.region", r, false, v));
    let postal_code = text(
        "address.postal_code",
        &raw.postal_code,
        MAX_POSTAL_CODE_CHARS,
        true,
        v,
    );
    let postal_code = postal_code.filter(|code| {
        let ok = code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-');
        if !ok {
            v.add(
                "address.postal_code",
                "address.postal_code.invalid",
                "A postal code has letters, digits, spaces and hyphens only.",
            );
        }
        ok
    });
    let country = if raw.country.trim().is_empty() {
        v.add(
            "address.country",
            "address.country.missing",
            "This field is required.",
        );
        None
    } else {
        country("address.country", raw.country.trim(), v)
    };
    Address {
        line1: line1.unwrap_or_default(),
        line2,
        city: city.unwrap_or_default(),
        postal_code: postal_code.unwrap_or_default(),
        region,
        country: country.unwrap_or_default(),
    }
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
