//! The rules of a preferences document, one by one (a profile change's are the onboarding
//! policy's: `components/onboarding/src/rules/profile.rs`).

use super::{
    ConsentChoice, NotificationSetting, PreferencesDocument, default_preferences, parse_version,
    rules,
};

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
