//! `register`, as an applicant and the rest of the bank see it: who is admitted, what is stored,
//! published and sent, and that nothing is written for a refused application.
//!
//! These load the compiled `onboarding.wasm` (build it first with scripts/build-components.sh).
//! A refused application writes nothing, so one kit serves every case of a table of refusals.

mod common;

use common::{TODAY_AT_NOON, codes, codes_for, valid_application};
use serde_json::json;
use usvc_testkit::{Application, Confirmation, Notice, OnboardingKit, UserStatus};

// --- Email -------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_email_addresses_are_refused() {
    let kit = OnboardingKit::new().await;
    for email in [
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@@example.com",
        "ada..lovelace@example.com",
        ".ada@example.com",
        "ada lovelace@example.com",
        "ada@localhost",
        "ada@example.c",
        "ada@-example.com",
        "ada@192.168.0.1",
    ] {
        let application = Application {
            email: email.to_owned(),
            ..valid_application()
        };
        assert_eq!(
            codes(kit.register(application).await),
            ["email.invalid"],
            "{email:?}"
        );
    }
}

#[tokio::test]
async fn email_address_longer_than_254_characters_is_refused() {
    let domain = vec!["d".repeat(60); 4].join(".") + ".com";
    let application = Application {
        email: format!("{}@{domain}", "a".repeat(64)),
        ..valid_application()
    };
    assert_eq!(codes_for(application).await, ["email.invalid"]);
}

#[tokio::test]
async fn disposable_email_addresses_are_refused() {
    let kit = OnboardingKit::new().await;
    for email in [
        "someone@mailinator.com",
        "someone@YOPMAIL.com",
        "someone@eu.guerrillamail.com",
    ] {
        let application = Application {
            email: email.to_owned(),
            ..valid_application()
        };
        assert_eq!(
            codes(kit.register(application).await),
            ["email.disposable"],
            "{email}"
        );
    }
}

#[tokio::test]
async fn email_address_is_stored_trimmed_and_lower_case() {
    let kit = OnboardingKit::new().await;
    let application = Application {
        email: "  Ada.Lovelace@Example.COM \t".to_owned(),
        ..valid_application()
    };
    kit.register(application).await.unwrap();
    let users = kit.users().await;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].email, "ada.lovelace@example.com");
}

// --- Password ----------------------------------------------------------------------------------

#[tokio::test]
async fn password_shorter_than_12_characters_is_refused() {
    let application = Application {
        password: "elevenchars".to_owned(),
        ..valid_application()
    };
    assert_eq!(codes_for(application).await, ["password.too_short"]);
}

#[tokio::test]
async fn password_of_exactly_12_characters_is_accepted() {
    let application = Application {
        password: "twelve chars".to_owned(),
        ..valid_application()
    };
    assert_eq!(codes_for(application).await, Vec::<String>::new());
}

#[tokio::test]
async fn password_length_counts_characters_not_bytes() {
    let eleven = Application {
        password: "é".repeat(11),
        ..valid_application()
    };
    assert_eq!(codes_for(eleven).await, ["password.too_short"]);
    let twelve = Application {
        password: "é".repeat(12),
        ..valid_application()
    };
    assert_eq!(codes_for(twelve).await, Vec::<String>::new());
}

#[tokio::test]
async fn password_longer_than_128_characters_is_refused() {
    let at_limit = Application {
        password: "p".repeat(128),
        ..valid_application()
    };
    assert_eq!(codes_for(at_limit).await, Vec::<String>::new());
    let over = Application {
        password: "p".repeat(129),
        ..valid_application()
    };
    assert_eq!(codes_for(over).await, ["password.too_long"]);
}

#[tokio::test]
async fn common_passwords_are_refused_whatever_their_case() {
    let kit = OnboardingKit::new().await;
    for password in [
        "password1234",
        "PassWord1234",
        "123456789012",
        "qwertyuiopasdf",
        "iloveyou1234",
    ] {
        let application = Application {
            password: password.to_owned(),
            ..valid_application()
        };
        assert_eq!(
            codes(kit.register(application).await),
            ["password.common"],
            "{password}"
        );
    }
}

#[tokio::test]
async fn password_containing_the_email_name_is_refused() {
    let application = Application {
        email: "Lovelace+bank@example.com".to_owned(),
        password: "my LOVELACE secret".to_owned(),
        ..valid_application()
    };
    assert_eq!(codes_for(application).await, ["password.contains_email"]);
}

#[tokio::test]
async fn email_names_shorter_than_3_characters_are_not_held_against_the_password() {
    let application = Application {
        email: "jo@example.com".to_owned(),
        password: "jo's long passphrase".to_owned(),
        ..valid_application()
    };
    assert_eq!(codes_for(application).await, Vec::<String>::new());
}

// --- Date of birth -----------------------------------------------------------------------------

#[tokio::test]
async fn date_of_birth_must_be_a_real_yyyy_mm_dd_date() {
    let kit = OnboardingKit::new().await;
    for date_of_birth in [
        "",
        "10/12/1990",
        "1990-12-1",
        "90-12-10",
        "1990-13-10",
        "1990-02-30",
        "1990-12-10T00:00",
    ] {
        let application = Application {
            date_of_birth: date_of_birth.to_owned(),
            ..valid_application()
        };
        assert_eq!(
            codes(kit.register(application).await),
            ["date_of_birth.invalid"],
            "{date_of_birth:?}"
        );
    }
}

#[tokio::test]
async fn february_29_exists_only_in_leap_years() {
    let leap = Application {
        date_of_birth: "2000-02-29".to_owned(),
        ..valid_application()
    };
    assert_eq!(codes_for(leap).await, Vec::<String>::new());
    let common = Application {
        date_of_birth: "2001-02-29".to_owned(),
        ..valid_application()
    };
    assert_eq!(codes_for(common).await, ["date_of_birth.invalid"]);
    let century = Application {
        date_of_birth: "1900-02-29".to_owned(),
        ..valid_application()
    };
    assert_eq!(codes_for(century).await, ["date_of_birth.invalid"]);
}

#[tokio::test]
async fn date_of_birth_in_the_future_is_invalid() {
    let application = Application {
        date_of_birth: "2026-06-16".to_owned(),
        ..valid_application()
    };
    assert_eq!(codes_for(application).await, ["date_of_birth.invalid"]);
}

#[tokio::test]
async fn applicant_older_than_130_is_implausible() {
    let oldest = Application {
        date_of_birth: "1895-06-16".to_owned(),
        ..valid_application()
    };
    assert_eq!(codes_for(oldest).await, Vec::<String>::new());
    let older = Application {
        date_of_birth: "1895-06-15".to_owned(),
        ..valid_application()
    };
    assert_eq!(codes_for(older).await, ["date_of_birth.invalid"]);
}

#[tokio::test]
async fn underage_applicant_is_refused() {
    let application = Application {
        date_of_birth: "2012-01-01".to_owned(),
        ..valid_application()
    };
    assert_eq!(codes_for(application).await, ["date_of_birth.underage"]);
}

#[tokio::test]
async fn applicant_turning_18_today_is_admitted() {
    let application = Application {
        date_of_birth: "2008-06-15".to_owned(),
        ..valid_application()
    };
    assert_eq!(codes_for(application).await, Vec::<String>::new());
}

#[tokio::test]
async fn applicant_turning_18_tomorrow_is_refused() {
    let application = Application {
        date_of_birth: "2008-06-16".to_owned(),
        ..valid_application()
    };
    assert_eq!(codes_for(application).await, ["date_of_birth.underage"]);
}

#[tokio::test]
async fn applicant_born_on_february_29_comes_of_age_on_march_1_in_a_common_year() {
    let application = || Application {
        date_of_birth: "2008-02-29".to_owned(),
        ..valid_application()
    };

    let on_28_february = OnboardingKit::builder().today(2026, 2, 28).build().await;
    assert_eq!(
        codes(on_28_february.register(application()).await),
        ["date_of_birth.underage"]
    );

    let on_1_march = OnboardingKit::builder().today(2026, 3, 1).build().await;
    assert_eq!(
        codes(on_1_march.register(application()).await),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn age_is_judged_on_the_clock_of_the_host() {
    let application = || Application {
        date_of_birth: "2008-06-16".to_owned(),
        ..valid_application()
    };
    let kit = OnboardingKit::builder().today(2026, 6, 16).build().await;
    assert_eq!(
        codes(kit.register(application()).await),
        Vec::<String>::new()
    );
}

// --- Country of residence ----------------------------------------------------------------------

#[tokio::test]
async fn country_code_is_stored_trimmed_and_upper_case() {
    let kit = OnboardingKit::new().await;
    let application = Application {
        country_of_residence: " gb ".to_owned(),
        ..valid_application()
    };
    kit.register(application).await.unwrap();
    assert_eq!(kit.users().await[0].country_of_residence, "GB");
}

#[tokio::test]
async fn country_that_is_not_a_two_letter_code_is_invalid() {
    let kit = OnboardingKit::new().await;
    for country in ["", "G", "GBR", "United Kingdom", "G1", "Ü K"] {
        let application = Application {
            country_of_residence: country.to_owned(),
            ..valid_application()
        };
        assert_eq!(
            codes(kit.register(application).await),
            ["country_of_residence.invalid"],
            "{country:?}"
        );
    }
}

#[tokio::test]
async fn country_outside_the_default_allow_list_is_not_supported() {
    let application = Application {
        country_of_residence: "US".to_owned(),
        ..valid_application()
    };
    assert_eq!(
        codes_for(application).await,
        ["country_of_residence.not_supported"]
    );
}

#[tokio::test]
async fn allowed_countries_come_from_the_component_settings() {
    let kit = OnboardingKit::builder()
        .setting("allowed-countries", "GB, de")
        .build()
        .await;

    let french = Application {
        country_of_residence: "FR".to_owned(),
        ..valid_application()
    };
    assert_eq!(
        codes(kit.register(french).await),
        ["country_of_residence.not_supported"]
    );

    let german = Application {
        country_of_residence: "DE".to_owned(),
        ..valid_application()
    };
    assert_eq!(codes(kit.register(german).await), Vec::<String>::new());
}

#[tokio::test]
async fn every_country_is_refused_when_no_country_is_allowed() {
    let kit = OnboardingKit::builder()
        .setting("allowed-countries", " ")
        .build()
        .await;
    assert_eq!(
        codes(kit.register(valid_application()).await),
        ["country_of_residence.not_supported"]
    );
    assert!(kit.users().await.is_empty());
}

// --- Phone -------------------------------------------------------------------------------------

#[tokio::test]
async fn phone_number_is_optional() {
    let kit = OnboardingKit::new().await;
    kit.register(Application {
        phone: None,
        ..valid_application()
    })
    .await
    .unwrap();
    assert_eq!(kit.users().await[0].phone, None);
}

#[tokio::test]
async fn phone_number_in_e164_form_is_stored_trimmed() {
    let kit = OnboardingKit::new().await;
    let application = Application {
        phone: Some(" +447700900123 ".to_owned()),
        ..valid_application()
    };
    kit.register(application).await.unwrap();
    assert_eq!(kit.users().await[0].phone.as_deref(), Some("+447700900123"));
}

/// Read as at a contact change (`usvc_types::PhoneE164`): the separators people type go.
#[tokio::test]
async fn phone_number_typed_with_separators_is_stored_compact() {
    let kit = OnboardingKit::new().await;
    let application = Application {
        phone: Some("+44 (7700) 900-123".to_owned()),
        ..valid_application()
    };
    kit.register(application).await.unwrap();
    assert_eq!(kit.users().await[0].phone.as_deref(), Some("+447700900123"));
}

#[tokio::test]
async fn phone_number_not_in_e164_form_is_invalid() {
    let kit = OnboardingKit::new().await;
    for phone in [
        "07700900123",
        "+0447700900123",
        "+1",
        "+12",
        "+1234567890123456",
        "tel:+447700900123",
    ] {
        let application = Application {
            phone: Some(phone.to_owned()),
            ..valid_application()
        };
        assert_eq!(
            codes(kit.register(application).await),
            ["phone.invalid"],
            "{phone}"
        );
    }
}

// --- Legal name --------------------------------------------------------------------------------

#[tokio::test]
async fn blank_legal_name_is_missing() {
    let kit = OnboardingKit::new().await;
    for name in ["", "   "] {
        let application = Application {
            legal_name: name.to_owned(),
            ..valid_application()
        };
        assert_eq!(
            codes(kit.register(application).await),
            ["legal_name.missing"],
            "{name:?}"
        );
    }
}

#[tokio::test]
async fn legal_name_longer_than_200_characters_is_refused() {
    let at_limit = Application {
        legal_name: "Ł".repeat(200),
        ..valid_application()
    };
    assert_eq!(codes_for(at_limit).await, Vec::<String>::new());
    let over = Application {
        legal_name: "Ł".repeat(201),
        ..valid_application()
    };
    assert_eq!(codes_for(over).await, ["legal_name.too_long"]);
}

#[tokio::test]
async fn legal_name_with_control_characters_is_invalid() {
    let kit = OnboardingKit::new().await;
    for name in ["Ada\nKing", "Ada\u{0}King", "Ada\u{1b}[31mKing"] {
        let application = Application {
            legal_name: name.to_owned(),
            ..valid_application()
        };
        assert_eq!(
            codes(kit.register(application).await),
            ["legal_name.invalid"],
            "{name:?}"
        );
    }
}

#[tokio::test]
async fn legal_name_is_stored_trimmed_in_its_own_script() {
    let kit = OnboardingKit::new().await;
    let application = Application {
        legal_name: "  Zoë Ó Briain ".to_owned(),
        ..valid_application()
    };
    kit.register(application).await.unwrap();
    assert_eq!(kit.users().await[0].legal_name, "Zoë Ó Briain");
}

// --- A refused application ---------------------------------------------------------------------

#[tokio::test]
async fn every_broken_rule_is_reported_at_once() {
    let kit = OnboardingKit::new().await;
    let application = Application {
        email: "not an address".to_owned(),
        password: "short".to_owned(),
        legal_name: " ".to_owned(),
        date_of_birth: "2015-01-01".to_owned(),
        country_of_residence: "XX".to_owned(),
        phone: Some("12345".to_owned()),
    };
    let violations = kit.register(application).await.unwrap_err();
    let reported: Vec<(&str, &str)> = violations
        .iter()
        .map(|violation| (violation.field.as_str(), violation.code.as_str()))
        .collect();
    assert_eq!(
        reported,
        [
            ("email", "email.invalid"),
            ("password", "password.too_short"),
            ("legal_name", "legal_name.missing"),
            ("date_of_birth", "date_of_birth.underage"),
            ("country_of_residence", "country_of_residence.not_supported"),
            ("phone", "phone.invalid"),
        ]
    );
    assert!(
        violations
            .iter()
            .all(|violation| !violation.message.is_empty())
    );
}

#[tokio::test]
async fn a_refused_application_writes_nothing() {
    let kit = OnboardingKit::new().await;
    let application = Application {
        date_of_birth: "2012-01-01".to_owned(),
        ..valid_application()
    };
    kit.register(application).await.unwrap_err();
    assert!(kit.users().await.is_empty());
    assert!(kit.events().await.is_empty());
    assert!(kit.notices().is_empty());
}

// --- A successful registration -----------------------------------------------------------------

#[tokio::test]
async fn successful_registration_creates_a_customer_pending_verification() {
    let kit = OnboardingKit::new().await;
    kit.register(valid_application()).await.unwrap();

    let users = kit.users().await;
    assert_eq!(users.len(), 1);
    let customer = &users[0];
    assert_eq!(customer.email, "ada.lovelace@example.com");
    assert_eq!(customer.legal_name, "Augusta Ada King");
    // Stored sealed; opened with the host's key.
    assert_ne!(customer.stored_date_of_birth, "1990-12-10");
    let date = customer.date_of_birth(&kit.caps().secrets).unwrap();
    assert_eq!(date, "1990-12-10");
    assert_eq!(customer.country_of_residence, "GB");
    assert_eq!(customer.phone.as_deref(), Some("+447700900123"));
    assert_matches!(customer.status, UserStatus::PendingVerification);
}

#[tokio::test]
async fn successful_registration_stores_the_chosen_password() {
    let kit = OnboardingKit::new().await;
    kit.register(valid_application()).await.unwrap();
    let id = kit.users().await[0].id.clone();
    assert!(kit.password_matches(&id, "analytical engine notes").await);
    assert!(!kit.password_matches(&id, "analytical engine notez").await);
}

#[tokio::test]
async fn successful_registration_publishes_user_registered_without_personal_data() {
    let kit = OnboardingKit::new().await;
    kit.register(valid_application()).await.unwrap();
    let id = kit.users().await[0].id.clone();

    let events = kit.events().await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.event_type, "user.registered");
    assert_eq!(event.subject, id);
    assert_eq!(
        event.data,
        json!({
            "user_id": id,
            "country_of_residence": "GB",
            "registered_at": TODAY_AT_NOON,
        })
    );
    let published = event.data.to_string();
    for personal in [
        "ada.lovelace",
        "example.com",
        "Ada",
        "1990-12-10",
        "+447700900123",
    ] {
        assert!(
            !published.contains(personal),
            "the event reveals {personal:?}: {published}"
        );
    }
}

#[tokio::test]
async fn successful_registration_emails_a_verification_code() {
    let kit = OnboardingKit::new().await;
    kit.register(valid_application()).await.unwrap();
    let id = kit.users().await[0].id.clone();

    let notices = kit.notices();
    assert_eq!(notices.len(), 1);
    let notice = &notices[0];
    assert_matches!(notice.notice, Notice::EmailVerification);
    assert_eq!(notice.user_id, id);
    assert_eq!(notice.to, "ada.lovelace@example.com");
    assert!(notice.code.as_deref().is_some_and(|code| !code.is_empty()));
}

// --- An address that already banks here --------------------------------------------------------

#[tokio::test]
async fn registering_a_known_address_answers_ok_and_tells_its_owner_instead() {
    let kit = OnboardingKit::new().await;
    kit.register(valid_application()).await.unwrap();
    let owner = kit.users().await[0].id.clone();
    let code = kit.notices()[0].code.clone().unwrap();
    assert_eq!(
        kit.confirm_email("ada.lovelace@example.com", &code).await,
        Confirmation::Confirmed
    );

    let again = Application {
        email: " ADA.LOVELACE@example.com".to_owned(),
        password: "someone else's passphrase".to_owned(),
        legal_name: "Someone Else".to_owned(),
        ..valid_application()
    };
    kit.register(again)
        .await
        .expect("a known address gets the same answer as a new one");

    let users = kit.users().await;
    assert_eq!(users.len(), 1, "no second customer");
    assert_eq!(
        users[0].legal_name, "Augusta Ada King",
        "the owner's record is untouched"
    );
    assert!(
        kit.password_matches(&owner, "analytical engine notes")
            .await
    );
    let registered = kit
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "user.registered");
    assert_eq!(registered.count(), 1, "no second user.registered");

    let notices = kit.notices();
    assert_eq!(notices.len(), 3, "verification, welcome, attempt");
    assert_matches!(notices[2].notice, Notice::RegistrationAttempted);
    assert_eq!(notices[2].user_id, owner);
    assert_eq!(notices[2].code, None);
}

#[tokio::test]
async fn the_newest_registration_of_a_pending_address_replaces_the_earlier_one() {
    // Someone registers an address they do not own and never confirms it; the address's owner
    // then registers it themselves. The account must go live with the owner's password only.
    let kit = OnboardingKit::new().await;
    let squatter = Application {
        password: "someone else's passphrase".to_owned(),
        legal_name: "Someone Else".to_owned(),
        ..valid_application()
    };
    kit.register(squatter).await.unwrap();
    let id = kit.users().await[0].id.clone();
    let first_code = kit.notices()[0].code.clone().unwrap();

    kit.register(valid_application())
        .await
        .expect("the same answer as ever");

    let users = kit.users().await;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].id, id, "the same pending record");
    assert_eq!(
        users[0].legal_name, "Augusta Ada King",
        "the newest details"
    );
    assert!(kit.password_matches(&id, "analytical engine notes").await);
    assert!(
        !kit.password_matches(&id, "someone else's passphrase").await,
        "the earlier registrant's password is gone"
    );
    assert_eq!(kit.events().await.len(), 1, "no second user.registered");

    let notices = kit.notices();
    assert_eq!(notices.len(), 2);
    assert_matches!(notices[1].notice, Notice::EmailVerification);
    assert_eq!(notices[1].user_id, id);
    let fresh_code = notices[1].code.clone().unwrap();
    if fresh_code != first_code {
        assert_eq!(
            kit.confirm_email("ada.lovelace@example.com", &first_code)
                .await,
            Confirmation::InvalidCode,
            "a code confirms only the registration it was sent for"
        );
    }
    assert_eq!(
        kit.confirm_email("ada.lovelace@example.com", &fresh_code)
            .await,
        Confirmation::Confirmed
    );
}

#[tokio::test]
async fn registering_a_confirmed_address_changes_nothing_of_its_owner() {
    let kit = OnboardingKit::new().await;
    kit.register(valid_application()).await.unwrap();
    let code = kit.notices()[0].code.clone().unwrap();
    assert_eq!(
        kit.confirm_email("ada.lovelace@example.com", &code).await,
        Confirmation::Confirmed
    );
    let id = kit.users().await[0].id.clone();
    let intruder = Application {
        password: "someone else's passphrase".to_owned(),
        legal_name: "Someone Else".to_owned(),
        ..valid_application()
    };
    kit.register(intruder).await.unwrap();
    assert_eq!(kit.users().await[0].legal_name, "Augusta Ada King");
    assert!(kit.password_matches(&id, "analytical engine notes").await);
    assert!(!kit.password_matches(&id, "someone else's passphrase").await);
}

#[tokio::test]
async fn a_known_address_with_a_broken_rule_still_hears_about_the_rule() {
    // The rules run first, so the answer for a known address is the one a stranger would get.
    let kit = OnboardingKit::new().await;
    kit.register(valid_application()).await.unwrap();
    let again = Application {
        password: "short".to_owned(),
        ..valid_application()
    };
    assert_eq!(codes(kit.register(again).await), ["password.too_short"]);
    assert_eq!(
        kit.notices().len(),
        1,
        "the owner is not told about a refused application"
    );
}
