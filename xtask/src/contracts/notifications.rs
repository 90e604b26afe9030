//! The notifications contract (real environments; `local` has no one to tell): every CloudWatch
//! alarm's actions, every budget notification, every cost-anomaly subscription and every EventBridge
//! target that is a topic goes to an SNS topic that has a subscription in the plan — or, for budgets
//! and anomaly subscriptions, straight to email addresses — and the topic's policy lets the AWS service
//! that publishes for it (`cloudwatch`, `budgets`, `costalerts`, `events` .amazonaws.com) publish. Without
//! a topic policy statement for that service SNS refuses the message (SNS Developer Guide, "Example cases
//! for Amazon SNS access control"); the keys contract checks the same publishers against the topic's key.

use super::{Inputs, Plan, Resource};
use crate::finding::Finding;

fn topics<'a>(plan: &'a Plan, r: &Resource, attr: &str) -> Vec<&'a Resource> {
    plan.attribute_sources(r, attr).into_iter().filter(|t| t.kind == "aws_sns_topic").collect()
}

fn subscribed(plan: &Plan, topic: &Resource) -> bool {
    plan.of_type("aws_sns_topic_subscription")
        .any(|s| topics(plan, s, "topic_arn").iter().any(|t| t.address == topic.address))
}

/// The AWS service that publishes to a topic for a resource of this type, and the attribute that
/// names the topic.
fn publisher_of(kind: &str) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        "aws_cloudwatch_metric_alarm" | "aws_cloudwatch_composite_alarm" => {
            ("cloudwatch.amazonaws.com", "alarm_actions")
        }
        "aws_budgets_budget" => ("budgets.amazonaws.com", "notification"),
        "aws_ce_anomaly_subscription" => ("costalerts.amazonaws.com", "subscriber"),
        "aws_cloudwatch_event_target" => ("events.amazonaws.com", "arn"),
        "aws_cloudtrail" => ("cloudtrail.amazonaws.com", "sns_topic_name"),
        "aws_db_event_subscription" => ("events.rds.amazonaws.com", "sns_topic"),
        _ => return None,
    })
}

/// A resource an AWS service publishes to topics for.
pub(super) struct Publisher<'a> {
    pub resource: &'a Resource,
    /// The service principal that publishes (`events.amazonaws.com`).
    pub service: &'static str,
    pub topics: Vec<&'a Resource>,
}

/// Every resource of the plan that makes an AWS service publish to one of the plan's topics.
pub(super) fn publishers(plan: &Plan) -> Vec<Publisher<'_>> {
    let mut out = Vec::new();
    for r in plan.resources.values().filter(|r| !r.data) {
        let Some((service, attr)) = publisher_of(&r.kind) else { continue };
        let topics = topics(plan, r, attr);
        if !topics.is_empty() {
            out.push(Publisher { resource: r, service, topics });
        }
    }
    out
}

/// Whether a topic's policy (an `aws_sns_topic_policy` of the plan naming it) lets `service` publish.
/// `None`: the topic has no policy of its own in the plan.
fn topic_admits(plan: &Plan, topic: &Resource, service: &str) -> Option<bool> {
    let policies: Vec<&Resource> = plan
        .of_type("aws_sns_topic_policy")
        .filter(|p| topics(plan, p, "arn").iter().any(|t| t.address == topic.address))
        .collect();
    if policies.is_empty() {
        return None;
    }
    Some(policies.iter().flat_map(|p| plan.statements(p, "policy")).any(|s| {
        s.allows("sns:Publish")
            && s.principals
                .iter()
                .any(|(kind, ids)| kind == "Service" && ids.iter().any(|i| i.as_deref() == Some(service)))
    }))
}

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    if !inputs.env.real() {
        return Vec::new();
    }
    let plan = &inputs.plan;
    let mut findings = Vec::new();
    let mut report = |r: &Resource, what: &str, targets: Vec<&Resource>, direct: bool| {
        if targets.is_empty() && !direct {
            findings.push(plan.finding(r, format!("{what} goes to no SNS topic")));
        }
        for t in targets.into_iter().filter(|t| !subscribed(plan, t)) {
            findings
                .push(plan.finding(r, format!("{what} goes to {}, which has no subscription in the plan", t.address)));
        }
    };
    for alarm in plan.of_type("aws_cloudwatch_metric_alarm").chain(plan.of_type("aws_cloudwatch_composite_alarm")) {
        report(alarm, "the alarm", topics(plan, alarm, "alarm_actions"), false);
    }
    for budget in plan.of_type("aws_budgets_budget") {
        let notifications = budget.known("notification").and_then(|n| n.as_array()).cloned().unwrap_or_default();
        let emails =
            notifications.iter().all(|n| n["subscriber_email_addresses"].as_array().is_some_and(|a| !a.is_empty()));
        if notifications.is_empty() {
            report(budget, "the budget (it has no notification)", Vec::new(), false);
        } else {
            report(budget, "a budget notification", topics(plan, budget, "notification"), emails);
        }
    }
    for sub in plan.of_type("aws_ce_anomaly_subscription") {
        let email =
            sub.known("subscriber").and_then(|s| s.as_array()).is_some_and(|s| s.iter().any(|x| x["type"] == "EMAIL"));
        report(sub, "the cost-anomaly subscription", topics(plan, sub, "subscriber"), email);
    }
    for target in plan.of_type("aws_cloudwatch_event_target") {
        let to = topics(plan, target, "arn");
        if !to.is_empty() {
            report(target, "the EventBridge target", to, false);
        }
    }
    for p in publishers(plan) {
        for topic in &p.topics {
            let why = match topic_admits(plan, topic, p.service) {
                Some(true) => continue,
                Some(false) => "whose policy does not let it publish",
                None => "which has no topic policy letting it publish (the default admits only the account)",
            };
            findings.push(plan.finding(
                p.resource,
                format!(
                    "{} publishes for it to {} {why}: add {} to the topic policy",
                    p.service, topic.address, p.service
                ),
            ));
        }
    }
    findings
}
