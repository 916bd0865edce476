//! The rules of a profile change and a preferences document, one by one.

use time::macros::date;

use super::{
    Address, ConsentChoice, NotificationSetting, PreferencesDocument, ProfileChange,
    default_preferences, parse_version, rules,
};

const TODAY: time::Date = date!(2026 - 06 - 15);

fn codes(
    result: Result<impl std::fmt::Debug, Vec<crate::runtime::onboarding::Violation>>,
) -> Vec<String> {
    let mut codes: Vec<String> = result
        .expect_err("the input must be refused")
        .into_iter()
        .map(|v| v.code)
        .collect();
    codes.sort();
    codes
}

fn address() -> Address {
    Address {
        line1: "12 St James's Square".to_owned(),
        line2: None,
        city: "London".to_owned(),
        postal_code: "SW1Y 4JH".to_owned(),
        region: None,
        country: "GB".to_owned(),
    }
}

fn change_codes(change: ProfileChange) -> Vec<String> {
    codes(rules::check_change(change, TODAY))
}

fn setting(category: &str, channels: &[&str]) -> NotificationSetting {
    NotificationSetting {
        category: category.to_owned(),
        channels: channels.iter().map(|c| (*c).to_owned()).collect(),
    }
}

fn document() -> PreferencesDocument {
    PreferencesDocument {
        language: "en-GB".to_owned(),
        time_zone: "Europe/London".to_owned(),
        notifications: vec![
            setting("security", &["email", "push"]),
            setting("account", &["email"]),
        ],
        marketing: ConsentChoice {
            granted: false,
            source: None,
        },
    }
}

#[test]
fn a_valid_change_is_trimmed_and_kept() {
    let change = ProfileChange {
        legal_name: Some("  Ada King  ".to_owned()),
        date_of_birth: Some("1990-12-10".to_owned()),
        nationality: Some("GB".to_owned()),
        address: Some(Address {
            line1: " 12 St James's Square ".to_owned(),
            line2: Some("  ".to_owned()),
            region: Some(" Greater London ".to_owned()),
            ..address()
        }),
        national_id: Some(" ab-123456 ".to_owned()),
    };
    let checked = rules::check_change(change, TODAY).unwrap();
    assert_eq!(checked.national_id.as_deref(), Some("AB-123456"));
    assert_eq!(checked.legal_name.as_deref(), Some("Ada King"));
    assert_eq!(checked.date_of_birth.as_deref(), Some("1990-12-10"));
    let address = checked.address.unwrap();
    assert_eq!(address.line1, "12 St James's Square");
    assert_eq!(address.line2, None);
    assert_eq!(address.region.as_deref(), Some("Greater London"));
    assert_eq!(
        rules::check_change(ProfileChange::default(), TODAY),
        Ok(ProfileChange::default())
    );
}

#[test]
fn national_id_rules() {
    let id = |n: &str| ProfileChange {
        national_id: Some(n.to_owned()),
        ..ProfileChange::default()
    };
    for ok in [
        "AB12",
        " qq 12 34 56 c ".replace(' ', "").as_str(),
        &"9".repeat(32),
    ] {
        assert!(rules::check_change(id(ok), TODAY).is_ok(), "{ok}");
    }
    for short_or_long in ["", "  ", "AB1", " AB1 ", &"9".repeat(33)] {
        assert_eq!(change_codes(id(short_or_long)), ["national_id.length"]);
    }
    for bad in ["AB 1234", "AB_1234", "AB.1234", "ÄB12345", "AB12\u{202E}34"] {
        assert_eq!(change_codes(id(bad)), ["national_id.invalid"], "{bad}");
    }
}

#[test]
fn a_national_id_is_masked_but_its_tail() {
    assert_eq!(rules::mask_national_id("AB123456C"), "*****456C");
    assert_eq!(rules::mask_national_id("AB-12"), "***12");
    assert_eq!(rules::mask_national_id("AB12"), "**12");
    assert_eq!(
        rules::mask_national_id(&"7".repeat(32)),
        format!("{}7777", "*".repeat(28))
    );
}

#[test]
fn legal_name_rules() {
    let name = |n: &str| ProfileChange {
        legal_name: Some(n.to_owned()),
        ..ProfileChange::default()
    };
    assert_eq!(change_codes(name(" ")), ["legal_name.missing"]);
    assert_eq!(
        change_codes(name(&"é".repeat(201))),
        ["legal_name.too_long"]
    );
    assert!(rules::check_change(name(&"é".repeat(200)), TODAY).is_ok());
    for bad in ["Ada\nKing", "Ada\u{0}", "Ada \u{202E}gniK"] {
        assert_eq!(change_codes(name(bad)), ["legal_name.invalid"], "{bad:?}");
    }
    assert!(rules::check_change(name("李小龍"), TODAY).is_ok());
}

#[test]
fn date_of_birth_rules() {
    let born = |d: &str| ProfileChange {
        date_of_birth: Some(d.to_owned()),
        ..ProfileChange::default()
    };
    for bad in [
        "1990-02-30",
        "1990-13-01",
        "90-01-01",
        "1990-1-01",
        "+1990-01-01",
        "1990/01/01",
        "",
        "1990-01-01T00:00",
    ] {
        assert_eq!(
            change_codes(born(bad)),
            ["date_of_birth.invalid"],
            "{bad:?}"
        );
    }
    assert_eq!(
        change_codes(born("2026-06-16")),
        ["date_of_birth.in_future"]
    );
    assert!(rules::check_change(born("2026-06-15"), TODAY).is_ok());
    assert!(rules::check_change(born("2000-02-29"), TODAY).is_ok());
    assert_eq!(
        change_codes(born("1890-01-01")),
        ["date_of_birth.implausible"]
    );
}

#[test]
fn country_codes_are_two_capital_letters() {
    let nationality = |n: &str| ProfileChange {
        nationality: Some(n.to_owned()),
        ..ProfileChange::default()
    };
    assert!(rules::check_change(nationality("DE"), TODAY).is_ok());
    // Trimmed and upper-cased as at registration (usvc_types::CountryCode).
    let checked = rules::check_change(nationality(" gb"), TODAY).unwrap();
    assert_eq!(checked.nationality.as_deref(), Some("GB"));
    for bad in ["GBR", "G", "", "G1", "ÉU"] {
        assert_eq!(
            change_codes(nationality(bad)),
            ["nationality.invalid"],
            "{bad:?}"
        );
    }
    let in_address = |country: &str| ProfileChange {
        address: Some(Address {
            country: country.to_owned(),
            ..address()
        }),
        ..ProfileChange::default()
    };
    assert_eq!(
        change_codes(in_address("U.K.")),
        ["address.country.invalid"]
    );
    assert_eq!(change_codes(in_address(" ")), ["address.country.missing"]);
}

#[test]
fn an_address_needs_line1_city_postal_code_and_country() {
    let empty = Address {
        line1: String::new(),
        line2: None,
        city: " ".to_owned(),
        postal_code: String::new(),
        region: None,
        country: String::new(),
    };
    let change = ProfileChange {
        address: Some(empty),
        ..ProfileChange::default()
    };
    assert_eq!(
        change_codes(change),
        [
            "address.city.missing",
            "address.country.missing",
            "address.line1.missing",
            "address.postal_code.missing",
        ]
    );
}

#[test]
fn address_lengths_and_characters() {
    let change = ProfileChange {
        address: Some(Address {
            line1: "x".repeat(101),
            line2: Some("Flat\t2".to_owned()),
            city: "y".repeat(101),
            postal_code: "SW1Y_4JH".to_owned(),
            region: Some("z".repeat(101)),
            country: "GB".to_owned(),
        }),
        ..ProfileChange::default()
    };
    assert_eq!(
        change_codes(change),
        [
            "address.city.too_long",
            "address.line1.too_long",
            "address.line2.invalid",
            "address.postal_code.invalid",
            "address.region.too_long",
        ]
    );
    let long_code = ProfileChange {
        address: Some(Address {
            postal_code: "1".repeat(17),
            ..address()
        }),
        ..ProfileChange::default()
    };
    assert_eq!(change_codes(long_code), ["address.postal_code.too_long"]);
}

#[test]
fn a_valid_document_is_made_canonical() {
    let doc = PreferencesDocument {
        language: " EN-gb ".to_owned(),
        time_zone: "europe/london".to_owned(),
        notifications: vec![
            setting("product", &["push", "email", "push"]),
            setting("security", &["sms"]),
        ],
        marketing: ConsentChoice {
            granted: true,
            source: Some(" App ".to_owned()),
        },
    };
    let checked = rules::check_preferences(doc).unwrap();
    assert_eq!(checked.language, "en-GB");
    assert_eq!(checked.time_zone, "Europe/London");
    assert_eq!(
        checked.notifications,
        [
            setting("security", &["sms"]),
            setting("account", &[]),
            setting("marketing", &[]),
            setting("product", &["email", "push"]),
        ]
    );
    assert_eq!(checked.marketing.source.as_deref(), Some("app"));
}

#[test]
fn languages_are_bcp47_tags() {
    for good in ["en", "en-GB", "zh-Hant-TW", "de-CH-1996", "es-419"] {
        let doc = PreferencesDocument {
            language: good.to_owned(),
            ..document()
        };
        assert!(rules::check_preferences(doc).is_ok(), "{good}");
    }
    for bad in [
        "english",
        "en_GB",
        "e",
        "en-",
        "und",
        "x",
        &"en-".repeat(20),
    ] {
        let doc = PreferencesDocument {
            language: bad.to_owned(),
            ..document()
        };
        assert_eq!(
            codes(rules::check_preferences(doc)),
            ["language.invalid"],
            "{bad}"
        );
    }
    let doc = PreferencesDocument {
        language: " ".to_owned(),
        ..document()
    };
    assert_eq!(codes(rules::check_preferences(doc)), ["language.missing"]);
}

#[test]
fn time_zones_are_iana_names() {
    for good in [
        "UTC",
        "Europe/London",
        "America/Argentina/Buenos_Aires",
        "Asia/Kolkata",
    ] {
        let doc = PreferencesDocument {
            time_zone: good.to_owned(),
            ..document()
        };
        assert!(rules::check_preferences(doc).is_ok(), "{good}");
    }
    for bad in [
        "Mars/Olympus_Mons",
        "GMT+25",
        "../../etc/passwd",
        "Europe/",
        "EST5EDT,M3.2.0,M11.1.0",
    ] {
        let doc = PreferencesDocument {
            time_zone: bad.to_owned(),
            ..document()
        };
        assert_eq!(
            codes(rules::check_preferences(doc)),
            ["time_zone.unknown"],
            "{bad}"
        );
    }
    let doc = PreferencesDocument {
        time_zone: String::new(),
        ..document()
    };
    assert_eq!(codes(rules::check_preferences(doc)), ["time_zone.missing"]);
}

#[test]
fn notification_rules() {
    let with = |notifications: Vec<NotificationSetting>| PreferencesDocument {
        notifications,
        ..document()
    };
    assert_eq!(
        codes(rules::check_preferences(with(vec![
            setting("security", &["email"]),
            setting("weather", &["email"])
        ]))),
        ["notifications.unknown_category"]
    );
    assert_eq!(
        codes(rules::check_preferences(with(vec![setting(
            "security",
            &["email", "pigeon"]
        )]))),
        ["notifications.unknown_channel"]
    );
    assert_eq!(
        codes(rules::check_preferences(with(vec![
            setting("security", &["email"]),
            setting("security", &["sms"]),
        ]))),
        ["notifications.duplicate_category"]
    );
    // Security alerts cannot be switched off, neither by an empty list nor by leaving them out.
    for settings in [
        vec![setting("security", &[])],
        vec![setting("account", &["email"])],
        vec![],
    ] {
        assert_eq!(
            codes(rules::check_preferences(with(settings))),
            ["notifications.security_required"]
        );
    }
    assert_eq!(
        codes(rules::check_preferences(with(vec![
            setting("security", &["email"]),
            setting("marketing", &["email"]),
        ]))),
        ["notifications.marketing_without_consent"]
    );
    let consenting = PreferencesDocument {
        marketing: ConsentChoice {
            granted: true,
            source: Some("web".to_owned()),
        },
        ..with(vec![
            setting("security", &["email"]),
            setting("marketing", &["sms"]),
        ])
    };
    assert!(rules::check_preferences(consenting).is_ok());
}

#[test]
fn consent_sources_are_short_words() {
    for bad in ["the app!", &"a".repeat(33), "café"] {
        let doc = PreferencesDocument {
            marketing: ConsentChoice {
                granted: true,
                source: Some(bad.to_owned()),
            },
            ..document()
        };
        assert_eq!(
            codes(rules::check_preferences(doc)),
            ["marketing.source.invalid"],
            "{bad}"
        );
    }
    let blank = PreferencesDocument {
        marketing: ConsentChoice {
            granted: true,
            source: Some("  ".to_owned()),
        },
        ..document()
    };
    assert_eq!(
        rules::check_preferences(blank).unwrap().marketing.source,
        None
    );
}

#[test]
fn the_defaults_keep_the_rules() {
    let defaults = default_preferences();
    assert_eq!(defaults.version, 0);
    let doc = PreferencesDocument {
        language: defaults.language.clone(),
        time_zone: defaults.time_zone.clone(),
        notifications: defaults.notifications.clone(),
        marketing: ConsentChoice {
            granted: false,
            source: None,
        },
    };
    let checked = rules::check_preferences(doc).unwrap();
    assert_eq!(checked.notifications, defaults.notifications);
    assert_eq!(
        rules::canonical_notifications(&defaults.notifications),
        defaults.notifications
    );
}

#[test]
fn versions_are_decimal_digits() {
    assert_eq!(parse_version("0"), Some(0));
    assert_eq!(parse_version("42"), Some(42));
    for bad in ["", "-1", "+1", "1.0", " 1", "abc", "99999999999999999999"] {
        assert_eq!(parse_version(bad), None, "{bad:?}");
    }
}
