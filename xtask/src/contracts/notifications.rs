//! The notifications contract (real environments; `local` has no one to tell): every CloudWatch
//! alarm's actions, every budget notification, every cost-anomaly subscription and every EventBridge
//! target that is a topic goes to an SNS topic that has a subscription in the plan — or, for budgets
//! and anomaly subscriptions, straight to email addresses.

use super::{Inputs, Plan, Resource};
use crate::finding::Finding;

fn topics<'a>(plan: &'a Plan, r: &Resource, attr: &str) -> Vec<&'a Resource> {
    plan.attribute_sources(r, attr).into_iter().filter(|t| t.kind == "aws_sns_topic").collect()
}

fn subscribed(plan: &Plan, topic: &Resource) -> bool {
    plan.of_type("aws_sns_topic_subscription")
        .any(|s| topics(plan, s, "topic_arn").iter().any(|t| t.address == topic.address))
}

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    if !inputs.env.real {
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
    findings
}
