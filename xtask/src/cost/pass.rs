//! The pricing pass: one walk over the plan's resource changes, each priced by its type's rule, and
//! what is settled after it (node disks, database replicas, notes).

use anyhow::Result;

use super::{PRICES, USAGE};

use super::data::db_lines;
use super::estimate::*;
use super::inputs::*;
use super::rules::*;
use crate::tfplan::ResourceChange;

pub(super) fn estimate(
    changes: &[ResourceChange],
    prices: &Prices,
    usage: &Usage,
    regions: &Regions,
    calendar: &crate::lifecycle::Calendar,
    today: time::Date,
) -> Result<Estimate> {
    let mut est = Estimate::default();
    let mut pass = Pass {
        hours: prices.assumptions.hours_per_month,
        spot_discount: prices.assumptions.spot_discount,
        support_ends: calendar.versions.iter().map(|v| (v.minor.to_string(), v.standard_ends)).collect(),
        today: Some(today),
        ..Pass::default()
    };
    let primary = prices.region(regions.primary)?;
    let mut dr: Option<&RegionPrices> = None;
    let rules = rules();
    est.regions.push(regions.primary.to_string());
    for rc in changes {
        if !rc.managed() {
            continue;
        }
        let after = &rc.change.after;
        if after.is_null() || rc.change.deletes_only() {
            continue;
        }
        est.resources += 1;
        let plain = strip_keys(&rc.address);
        let in_dr = !regions.dr_addresses.is_empty() && regions.dr_addresses.contains(&plain);
        let (p, region) = if in_dr {
            let p = match dr {
                Some(p) => p,
                None => {
                    let p = prices.region(regions.dr)?;
                    est.regions.push(regions.dr.to_string());
                    dr = Some(p);
                    p
                }
            };
            (p, regions.dr)
        } else {
            (primary, regions.primary)
        };
        let Some(rule) = rules.get(rc.kind.as_str()) else {
            pass.unpriced.push(Unpriced {
                address: rc.address.clone(),
                rtype: rc.kind.clone(),
                reason: format!("no price in {PRICES}"),
            });
            continue;
        };
        let before = (pass.lines.len(), pass.unpriced.len(), pass.node_disks.len(), pass.replicas.len());
        let r = Res {
            address: &rc.address,
            rtype: &rc.kind,
            module: rc.module_address.as_deref().unwrap_or(""),
            index: rc.index.as_ref(),
            after,
            usage: usage.of(&rc.address, &plain, &rc.kind),
            p,
            region,
        };
        rule(&r, &mut pass);
        if before == (pass.lines.len(), pass.unpriced.len(), pass.node_disks.len(), pass.replicas.len()) {
            *est.free.entry(rc.kind.clone()).or_default() += 1;
        }
    }
    settle(&mut pass, primary, prices, usage);
    est.lines = pass.lines;
    est.unpriced = pass.unpriced;
    est.notes = pass.notes;
    est.lines.sort_by(|a, b| b.monthly().total_cmp(&a.monthly()).then_with(|| a.address.cmp(&b.address)));
    Ok(est)
}

/// After the pass: node disks from their launch templates, replicas from their source, ingress LBs.
pub(super) fn settle(pass: &mut Pass, primary: &RegionPrices, prices: &Prices, usage: &Usage) {
    for (mut line, module, index, default_gb) in std::mem::take(&mut pass.node_disks) {
        let (gb, kind) = pass.launch_disks.get(&(module, index)).cloned().unwrap_or((default_gb, "gp3".to_string()));
        let nodes = line.quantity;
        match primary.ebs_gb_month.get(&kind) {
            Some(price) => {
                line.what = format!("node disks: {nodes} × {gb} GB {kind}");
                line.quantity = nodes * gb;
                line.unit_price = *price;
                pass.lines.push(line);
            }
            None => pass.unpriced.push(Unpriced {
                address: line.address,
                rtype: line.rtype,
                reason: format!("no price for EBS {kind} in {PRICES}"),
            }),
        }
    }
    for rep in std::mem::take(&mut pass.replicas) {
        let source = pass.databases.get(&rep.source);
        let engine = rep.engine.clone().or_else(|| source.map(|s| s.0.clone()));
        let storage = rep.storage.clone().or_else(|| source.map(|s| (s.1, s.2.clone())));
        let p = prices.regions.get(&rep.region).unwrap_or(primary);
        let Some(engine) = engine else {
            pass.unpriced.push(Unpriced {
                address: rep.address,
                rtype: "aws_db_instance".into(),
                reason: format!("read replica of `{}`, whose engine is not in the plan", rep.source),
            });
            continue;
        };
        db_lines(pass, p, &rep.address, &engine, &rep.class, rep.multi_az, storage, "read replica", &rep.region);
    }
    if pass.has_cluster {
        let i = usage.ingress;
        let lbs = [
            ("network", i.network_load_balancers.unwrap_or(0.0), primary.nlb_hour, primary.nlb_lcu_hour, "NLCU-hours"),
            (
                "application",
                i.application_load_balancers.unwrap_or(0.0),
                primary.alb_hour,
                primary.alb_lcu_hour,
                "LCU-hours",
            ),
        ];
        let lcus = i.average_lcus.unwrap_or(1.0);
        let hours = pass.hours;
        for (kind, count, hourly, lcu_price, lcu_unit) in lbs {
            if count <= 0.0 {
                continue;
            }
            let address = format!("(ingress controller) {kind} load balancer");
            pass.lines.push(Line {
                address: address.clone(),
                rtype: "aws_lb".into(),
                what: format!("{count} × {kind} LB, from {USAGE} [ingress]"),
                quantity: count * hours,
                unit: "hours",
                unit_price: hourly,
            });
            pass.lines.push(Line {
                address,
                rtype: "aws_lb".into(),
                what: format!("{lcus} average capacity units"),
                quantity: count * lcus * hours,
                unit: lcu_unit,
                unit_price: lcu_price,
            });
        }
        let ips = i.public_ipv4_addresses.unwrap_or(0.0);
        if ips > 0.0 {
            pass.lines.push(Line {
                address: "(ingress controller) load balancer public IPv4".into(),
                rtype: "aws_lb".into(),
                what: format!("{ips} public IPv4 addresses"),
                quantity: ips * hours,
                unit: "hours",
                unit_price: primary.public_ipv4_hour,
            });
        }
    }
}
