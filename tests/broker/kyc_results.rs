//! The KYC results consumer through its front door, the broker: a result is recorded once however
//! often it is delivered, a poison message goes to the dead-letter queue at once, a failure that
//! passes is retried, and one that lasts ends in the dead-letter queue after the last attempt.

use std::time::Duration;

use serde_json::json;
use usvc::adapters::amqp::consumer::{RETRIES_HEADER, retries_of};
use usvc_tests::{Backend, TestApp, backends};

use crate::{
    BROKER,
    fixture::{
        KycService, check_completed, customer, deaths, in_inbox, new_id, results, submitted_check,
        wait_for_result,
    },
};

backends!(
    a_result_delivered_twice_is_recorded_once,
    poison_messages_go_to_the_dead_letter_queue_at_once,
    a_failure_that_passes_is_retried_until_the_result_is_recorded,
    a_lasting_failure_ends_in_the_dead_letter_queue_after_the_last_attempt,
);

/// The `user.kyc_result_recorded` events in the outbox.
async fn recorded_events(app: &TestApp) -> Vec<usvc::store::outbox::Event> {
    app.events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "user.kyc_result_recorded")
        .collect()
}

async fn a_result_delivered_twice_is_recorded_once(backend: Backend) {
    let _shared = BROKER.read().await;
    let kyc = KycService::start().await;
    let mut app = kyc.app(backend).await;
    let user = customer(&app, "twice@example.com").await;
    let check = submitted_check(&app, &user).await;
    kyc.wait_for_consumer().await;

    let first = new_id();
    let reviewed = check_completed(&first, &user, &check, "manual_review");
    kyc.publish_json(&reviewed).await;
    // The same message id again, even with another body, is the same message.
    kyc.publish_json(&check_completed(&first, &user, &check, "approved"))
        .await;
    let later = new_id();
    kyc.publish_json(&check_completed(&later, &user, &check, "approved"))
        .await;
    // The consumer takes messages in order: once the last is in, the others were handled.
    let recorded = wait_for_result(&app, &user, &later).await;

    let mut outcomes: Vec<(String, String)> = recorded
        .iter()
        .map(|r| (r.message_id.clone(), r.outcome.clone()))
        .collect();
    outcomes.sort();
    let mut expected = vec![
        (first.clone(), "manual_review".to_owned()),
        (later.clone(), "approved".to_owned()),
    ];
    expected.sort();
    assert_eq!(outcomes, expected, "the duplicate was skipped");
    let manual = recorded.iter().find(|r| r.message_id == first).unwrap();
    let completed_at = time::OffsetDateTime::parse(
        reviewed["occurred_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp();
    assert_eq!(manual.check_id, check);
    assert_eq!(manual.reasons, ["document_expired"]);
    assert_eq!(manual.provider_reference, "provider-ref-0001");
    assert_eq!(manual.completed_at, completed_at);
    assert!(in_inbox(&app, &first).await && in_inbox(&app, &later).await);

    let events = recorded_events(&app).await;
    assert_eq!(events.len(), 2, "one event per recorded result");
    assert_eq!(
        events[0].data,
        json!({
            "user_id": user,
            "check_id": check,
            "outcome": "manual_review",
            "reasons": ["document_expired"],
            "completed_at": completed_at,
        }),
        "ids, outcome and codes only"
    );
    assert_eq!(events[0].subject, user);
    assert_eq!(
        app.audit_count(&user, "user.kyc_result_recorded").await,
        2,
        "every recorded result is audited"
    );
    for queue in [
        kyc.subscription.retry_queue(),
        kyc.subscription.dead_letter_queue(),
    ] {
        assert_eq!(kyc.depth(&queue).await, 0, "nothing failed: {queue}");
    }
    app.shut_down().await;
}

async fn poison_messages_go_to_the_dead_letter_queue_at_once(backend: Backend) {
    let _shared = BROKER.read().await;
    let kyc = KycService::start().await;
    let mut app = kyc.app(backend).await;
    let user = customer(&app, "poison@example.com").await;
    let check = submitted_check(&app, &user).await;
    kyc.wait_for_consumer().await;

    let stranger = uuid::Uuid::now_v7().to_string();
    let (for_stranger, broken) = (new_id(), new_id());
    let bodies: Vec<Vec<u8>> = vec![
        b"{\"id\": \"half a message".to_vec(),
        check_completed(&for_stranger, &stranger, &check, "approved")
            .to_string()
            .into_bytes(),
        check_completed(&broken, &user, &check, "maybe")
            .to_string()
            .into_bytes(),
    ];
    for body in &bodies {
        kyc.publish(body).await;
    }
    let dead = kyc.dead_letters(3, Duration::from_secs(15)).await;
    assert_eq!(dead.len(), 3, "every poison message was dead-lettered");
    let mut dead_bodies: Vec<Vec<u8>> = dead.iter().map(|m| m.delivery.data.clone()).collect();
    dead_bodies.sort();
    let mut sent = bodies.clone();
    sent.sort();
    assert_eq!(dead_bodies, sent, "dead letters keep their body");
    for message in &dead {
        let properties = &message.delivery.properties;
        assert_eq!(
            deaths(properties),
            [(kyc.subscription.queue.clone(), "rejected".to_owned())],
            "refused by our queue's consumer, once"
        );
        assert_eq!(retries_of(properties), 0, "poison is never retried");
    }

    // The consumer carries on, and none of the poison left a trace.
    let good = new_id();
    kyc.publish_json(&check_completed(&good, &user, &check, "approved"))
        .await;
    let recorded = wait_for_result(&app, &user, &good).await;
    assert_eq!(recorded.len(), 1);
    assert!(!in_inbox(&app, &for_stranger).await && !in_inbox(&app, &broken).await);
    assert_eq!(recorded_events(&app).await.len(), 1);
    app.shut_down().await;
}

/// Renames the results table away (every recording then fails) or back.
async fn results_table(app: &TestApp, present: bool) {
    let statement = if present {
        "ALTER TABLE kyc_results_away RENAME TO kyc_results"
    } else {
        "ALTER TABLE kyc_results RENAME TO kyc_results_away"
    };
    sqlx::query(statement).execute(&app.db).await.unwrap();
}

async fn a_failure_that_passes_is_retried_until_the_result_is_recorded(backend: Backend) {
    let _shared = BROKER.read().await;
    let mut kyc = KycService::start().await;
    kyc.subscription.max_attempts = 5;
    kyc.subscription.retry_delay = Duration::from_millis(1500);
    let mut app = kyc.app(backend).await;
    let user = customer(&app, "transient@example.com").await;
    let check = submitted_check(&app, &user).await;
    kyc.wait_for_consumer().await;

    results_table(&app, false).await;
    let id = new_id();
    kyc.publish_json(&check_completed(&id, &user, &check, "approved"))
        .await;
    let retry_queue = kyc.subscription.retry_queue();
    let mut waiting = false;
    for _ in 0..300 {
        if kyc.depth(&retry_queue).await == 1 {
            waiting = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(waiting, "the failed message waits in {retry_queue}");
    assert!(
        !in_inbox(&app, &id).await,
        "the failed attempt left nothing"
    );

    results_table(&app, true).await;
    let recorded = wait_for_result(&app, &user, &id).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded_events(&app).await.len(), 1);
    assert_eq!(kyc.depth(&kyc.subscription.dead_letter_queue()).await, 0);
    app.shut_down().await;
}

async fn a_lasting_failure_ends_in_the_dead_letter_queue_after_the_last_attempt(backend: Backend) {
    let _shared = BROKER.read().await;
    let kyc = KycService::start().await;
    let mut app = kyc.app(backend).await;
    let user = customer(&app, "lasting@example.com").await;
    let check = submitted_check(&app, &user).await;
    kyc.wait_for_consumer().await;

    results_table(&app, false).await;
    let id = new_id();
    let message = check_completed(&id, &user, &check, "rejected");
    kyc.publish_json(&message).await;
    // Three attempts: now, after 300 ms, after a further 600 ms.
    let dead = kyc.dead_letters(1, Duration::from_secs(20)).await;
    assert_eq!(dead.len(), 1, "the message was dead-lettered");
    let properties = &dead[0].delivery.properties;
    assert_eq!(
        retries_of(properties),
        kyc.subscription.max_attempts - 1,
        "{RETRIES_HEADER}: every attempt was made"
    );
    assert_eq!(
        deaths(properties)[0],
        (kyc.subscription.queue.clone(), "rejected".to_owned()),
        "refused after its last attempt"
    );
    assert_eq!(dead[0].delivery.data, message.to_string().into_bytes());
    assert!(!in_inbox(&app, &id).await);
    results_table(&app, true).await;
    assert!(results(&app, &user).await.is_empty());
    assert_eq!(kyc.depth(&kyc.subscription.retry_queue()).await, 0);

    // With the table back, the consumer records again.
    let next = new_id();
    kyc.publish_json(&check_completed(&next, &user, &check, "approved"))
        .await;
    assert_eq!(wait_for_result(&app, &user, &next).await.len(), 1);
    app.shut_down().await;
}
