//! What may leave for Sentry: every event and breadcrumb passes here last (`before_send`,
//! `before_breadcrumb`). Request bodies, cookies, query strings, URLs (their paths name
//! resources) and every header but a few harmless ones are dropped, and of the user only `id`
//! stays. In messages, exception values, breadcrumbs, tags, extra and context values, anything
//! that looks like an email address, a bearer token or JWT, or a long run of digits (a phone or
//! national id number) is replaced by a placeholder.

use std::sync::LazyLock;

use regex::Regex;
use sentry::protocol::{Breadcrumb, Context, Event, Map, User, Value};

/// Headers that may be sent as they are; every other one is dropped.
const HARMLESS_HEADERS: &[&str] = &["accept", "content-length", "content-type", "x-request-id"];

/// Tags the host sets from values that are never personal (ids, kinds, digests, route
/// templates): redacting a digit run in a request id or digest would only break correlation.
const HOST_TAGS: &[&str] = &[
    "request_id",
    "http.method",
    "http.route",
    "rpc.method",
    "component.kind",
    "component.digest",
    "reason",
];

static PATTERNS: LazyLock<[(Regex, &'static str); 4]> = LazyLock::new(|| {
    let pattern = |text: &str| Regex::new(text).expect("a valid pattern");
    [
        (
            pattern(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"),
            "Bearer [redacted token]",
        ),
        (
            pattern(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?"),
            "[redacted token]",
        ),
        (
            pattern(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
            "[redacted email]",
        ),
        // Seven digits or more, perhaps spaced or dotted, standing as a word of their own: a
        // phone or national id number (digits inside a hex digest or a word are not one).
        (pattern(r"\+?\b\d(?:[ .]?\d){6,}\b"), "[redacted number]"),
    ]
});

/// `text` with every email address, bearer token, JWT and long digit run replaced.
pub fn redact(text: &str) -> String {
    let mut text = std::borrow::Cow::Borrowed(text);
    for (pattern, placeholder) in PATTERNS.iter() {
        if let std::borrow::Cow::Owned(replaced) = pattern.replace_all(&text, *placeholder) {
            text = std::borrow::Cow::Owned(replaced);
        }
    }
    text.into_owned()
}

fn redact_in_place(text: &mut String) {
    *text = redact(text);
}

/// Redacts every string inside a JSON value, keys left as they are.
fn redact_value(value: &mut Value) {
    match value {
        Value::String(text) => redact_in_place(text),
        Value::Array(values) => values.iter_mut().for_each(redact_value),
        Value::Object(map) => map.values_mut().for_each(redact_value),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn redact_map(map: &mut Map<String, Value>) {
    map.values_mut().for_each(redact_value);
}

/// `before_send`: the event with nothing personal or secret left in it.
pub fn event(mut event: Event<'static>) -> Event<'static> {
    if let Some(request) = &mut event.request {
        request.url = None;
        request.query_string = None;
        request.cookies = None;
        request.data = None;
        request.env.clear();
        request
            .headers
            .retain(|name, _| HARMLESS_HEADERS.contains(&name.to_ascii_lowercase().as_str()));
        request.headers.values_mut().for_each(redact_in_place);
    }
    if let Some(user) = event.user.take() {
        event.user = user.id.map(|id| User {
            id: Some(redact(&id)),
            ..User::default()
        });
    }
    if let Some(message) = &mut event.message {
        redact_in_place(message);
    }
    if let Some(entry) = &mut event.logentry {
        redact_in_place(&mut entry.message);
        entry.params.iter_mut().for_each(redact_value);
    }
    for exception in event.exception.values.iter_mut() {
        redact_in_place(&mut exception.ty);
        if let Some(value) = &mut exception.value {
            redact_in_place(value);
        }
    }
    for (key, value) in event.tags.iter_mut() {
        if !HOST_TAGS.contains(&key.as_str()) {
            redact_in_place(value);
        }
    }
    redact_map(&mut event.extra);
    for context in event.contexts.values_mut() {
        if let Context::Other(map) = context {
            redact_map(map);
        }
    }
    for crumb in event.breadcrumbs.values.iter_mut() {
        scrub_breadcrumb(crumb);
    }
    event
}

/// `before_breadcrumb`: the breadcrumb with its message and data redacted.
pub fn breadcrumb(mut crumb: Breadcrumb) -> Breadcrumb {
    scrub_breadcrumb(&mut crumb);
    crumb
}

fn scrub_breadcrumb(crumb: &mut Breadcrumb) {
    if let Some(message) = &mut crumb.message {
        redact_in_place(message);
    }
    redact_map(&mut crumb.data);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use sentry::protocol::{Exception, Request};

    use super::*;

    const EMAIL: &str = "ada.lovelace+bank@example.co.uk";
    const JWT: &str = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl";
    const PHONE: &str = "+447700900123";
    const NATIONAL_ID: &str = "123 456 789";

    fn leaks(event: &Event<'static>) -> Vec<&'static str> {
        let text = serde_json::to_string(event).unwrap();
        [
            EMAIL,
            JWT,
            PHONE,
            NATIONAL_ID,
            "s3cret-cookie",
            "secret-api-key",
            "q=ada",
        ]
        .into_iter()
        .filter(|secret| text.contains(secret))
        .collect()
    }

    #[test]
    fn emails_tokens_and_long_numbers_are_redacted_and_the_rest_is_kept() {
        assert_eq!(
            redact(&format!("no user {EMAIL} (Bearer {JWT}) at {PHONE}")),
            "no user [redacted email] (Bearer [redacted token]) at [redacted number]"
        );
        assert_eq!(redact(JWT), "[redacted token]");
        assert_eq!(
            redact("authorization: bearer abc.def-ghi"),
            "authorization: Bearer [redacted token]"
        );
        assert_eq!(redact(NATIONAL_ID), "[redacted number]");
        assert_eq!(redact("0044 7700.900123"), "[redacted number]");
        // Ids, digests, dates, counts and short numbers stay: they are what makes an event useful.
        for kept in [
            "the onboarding component failed: wasm trap at 0x1f2e",
            "request 0192f1a2-7c4d-7e0a-9b1c-2d3e4f5a6b7c took 1234 ms",
            "digest 3a7f00123456789abc4455667788990011223344556677889900aabbccddeeff",
            "2026-12-07T20:01:22Z, 503 after 3 attempts",
            "/v1/users/{id}/documents",
        ] {
            assert_eq!(redact(kept), kept);
        }
    }

    #[test]
    fn requests_keep_their_method_and_harmless_headers_only() {
        let event = Event {
            request: Some(Request {
                url: Some(
                    format!("http://usvc/v1/users/{PHONE}?q=ada&e={EMAIL}")
                        .parse()
                        .unwrap(),
                ),
                method: Some("POST".into()),
                data: Some(format!(r#"{{"email":"{EMAIL}","password":"hunter2"}}"#)),
                query_string: Some(format!("q=ada&e={EMAIL}")),
                cookies: Some("session=s3cret-cookie".into()),
                headers: BTreeMap::from(
                    [
                        ("Authorization", format!("Bearer {JWT}")),
                        ("Cookie", "session=s3cret-cookie".to_owned()),
                        ("X-Api-Key", "secret-api-key".to_owned()),
                        ("X-Customer-Email", EMAIL.to_owned()),
                        ("Content-Type", "application/json".to_owned()),
                        ("x-request-id", "0192f1a2-7c4d".to_owned()),
                    ]
                    .map(|(name, value)| (name.to_owned(), value)),
                ),
                env: BTreeMap::from([("REMOTE_ADDR".to_owned(), "203.0.113.9".to_owned())]),
            }),
            ..Event::default()
        };
        let event = super::event(event);
        assert_eq!(leaks(&event), Vec::<&str>::new());
        let request = event.request.as_ref().unwrap();
        assert_eq!(request.method.as_deref(), Some("POST"));
        assert_eq!(
            request.headers.keys().collect::<Vec<_>>(),
            ["Content-Type", "x-request-id"]
        );
        assert!(request.url.is_none() && request.data.is_none() && request.env.is_empty());
        assert!(!serde_json::to_string(&event).unwrap().contains("hunter2"));
    }

    #[test]
    fn of_the_user_only_the_id_stays() {
        let event = Event {
            user: Some(User {
                id: Some("0192f1a2-7c4d-7e0a-9b1c-2d3e4f5a6b7c".into()),
                email: Some(EMAIL.into()),
                ip_address: Some("203.0.113.9".parse().unwrap()),
                username: Some("ada".into()),
                other: Map::from_iter([("phone".to_owned(), PHONE.into())]),
            }),
            ..Event::default()
        };
        let event = super::event(event);
        assert_eq!(
            event.user,
            Some(User {
                id: Some("0192f1a2-7c4d-7e0a-9b1c-2d3e4f5a6b7c".into()),
                ..User::default()
            })
        );
        let event = Event {
            user: Some(User {
                email: Some(EMAIL.into()),
                ..User::default()
            }),
            ..Event::default()
        };
        assert_eq!(super::event(event).user, None);
    }

    #[test]
    fn messages_exceptions_breadcrumbs_tags_extra_and_contexts_are_redacted() {
        let mut event = Event {
            message: Some(format!("login failed for {EMAIL}")),
            ..Event::default()
        };
        event.exception.values.push(Exception {
            ty: format!("token {JWT}"),
            value: Some(format!("the national id {NATIONAL_ID} does not open")),
            ..Exception::default()
        });
        event.breadcrumbs.values.push(Breadcrumb {
            message: Some(format!("sending a code to {PHONE}")),
            data: Map::from_iter([("to".to_owned(), Value::Array(vec![EMAIL.into(), 3.into()]))]),
            ..Breadcrumb::default()
        });
        event.tags = BTreeMap::from([
            ("customer".to_owned(), EMAIL.to_owned()),
            ("component.kind".to_owned(), "onboarding".to_owned()),
            // A host tag keeps its value even where it happens to hold a digit run.
            ("request_id".to_owned(), "12345678-90ab".to_owned()),
        ]);
        event.extra = Map::from_iter([(
            "stderr".to_owned(),
            format!("panicked: {EMAIL}, {NATIONAL_ID}").into(),
        )]);
        event.contexts = BTreeMap::from([(
            "Fields".to_owned(),
            Context::Other(Map::from_iter([(
                "header".to_owned(),
                format!("authorization: Bearer {JWT}").into(),
            )])),
        )]);
        let event = super::event(event);
        assert_eq!(leaks(&event), Vec::<&str>::new());
        assert_eq!(
            event.message.as_deref(),
            Some("login failed for [redacted email]")
        );
        assert_eq!(event.tags["component.kind"], "onboarding");
        assert_eq!(event.tags["request_id"], "12345678-90ab");
        assert_eq!(event.tags["customer"], "[redacted email]");
        assert_eq!(
            event.breadcrumbs.values[0].data["to"],
            serde_json::json!(["[redacted email]", 3])
        );
        let crumb = breadcrumb(Breadcrumb {
            message: Some(format!("code sent to {EMAIL}")),
            ..Breadcrumb::default()
        });
        assert_eq!(
            crumb.message.as_deref(),
            Some("code sent to [redacted email]")
        );
    }
}
