//! The self-test a host runs before this policy goes live, run the same way: the compiled
//! component in wasmtime, every write discarded.

use usvc_testkit::{OnboardingKit, VerificationKit, components_dir};

#[tokio::test]
async fn the_policy_passes_its_own_self_test() {
    let kit = OnboardingKit::new().await;
    assert_eq!(kit.self_test().await, Ok(true));
}

#[tokio::test]
async fn a_failing_self_test_is_reported_with_its_reason() {
    let kit = OnboardingKit::builder()
        .component(components_dir().join("chaos-onboarding.wasm"))
        .setting("chaos-self-test", "fail")
        .build()
        .await;
    let failed = kit.self_test().await.unwrap_err();
    assert!(failed.contains("told to fail"), "{failed}");
}

#[tokio::test]
async fn a_component_without_a_self_test_has_none_to_run() {
    let kit = VerificationKit::new().await;
    assert_eq!(kit.self_test().await, Ok(false));
}
