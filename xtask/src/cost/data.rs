//! The rules of the data services: RDS instances (and the read replicas priced with them) and
//! ElastiCache replication groups and clusters. Registered by [`super::rules`].

use std::collections::HashMap;

use serde_json::Value;

use super::estimate::*;
use super::inputs::*;
use super::PRICES;

pub(super) fn register(m: &mut HashMap<&'static str, Rule>) {
    m.insert("aws_db_instance", db_instance);
    m.insert("aws_elasticache_replication_group", cache_group);
    m.insert("aws_elasticache_cluster", cache_cluster);
}

pub(super) fn db_instance(r: &Res, s: &mut Pass) {
    let class = text(r.after, "instance_class").unwrap_or("?").to_string();
    let multi_az = r.after.get("multi_az").and_then(Value::as_bool).unwrap_or(false);
    let engine = text(r.after, "engine").map(str::to_string);
    let storage =
        num(r.after, "allocated_storage").map(|gb| (gb, text(r.after, "storage_type").unwrap_or("gp2").to_string()));
    if let Some(source) = text(r.after, "replicate_source_db") {
        let source = source.rsplit(':').next().unwrap_or(source).to_string();
        s.replicas.push(PendingReplica {
            address: r.address.to_string(),
            source,
            engine,
            class,
            storage,
            multi_az,
            region: r.region.to_string(),
        });
        return;
    }
    let Some(engine) = engine else { return s.unpriced(r, "no engine in the plan") };
    if let (Some(id), Some((gb, kind))) = (text(r.after, "identifier"), &storage) {
        s.databases.insert(id.to_string(), (engine.clone(), *gb, kind.clone()));
    }
    db_lines(s, r.p, r.address, &engine, &class, multi_az, storage, "instance", r.region);
    let key = "backup_storage_gb";
    if let Some(gb) = r.usage.get(key).filter(|gb| *gb > 0.0) {
        s.add(r, "backup storage beyond the free allowance", gb, "GB-months", r.p.rds_backup_gb_month);
    }
    let pi = r.after.get("performance_insights_enabled").and_then(Value::as_bool).unwrap_or(false);
    let retention = num(r.after, "performance_insights_retention_period").unwrap_or(7.0);
    if pi && retention > 7.0 {
        s.unpriced(
            r,
            format!("Performance Insights kept {retention} days: only the 7-day free tier has a price in {PRICES}"),
        );
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn db_lines(
    s: &mut Pass,
    p: &RegionPrices,
    address: &str,
    engine: &str,
    class: &str,
    multi_az: bool,
    storage: Option<(f64, String)>,
    role: &str,
    region: &str,
) {
    let copies = if multi_az { 2.0 } else { 1.0 };
    let az = if multi_az { "Multi-AZ (primary + standby)" } else { "Single-AZ" };
    let line = |what: String, quantity: f64, unit: &'static str, unit_price: f64| Line {
        address: address.to_string(),
        rtype: "aws_db_instance".into(),
        what,
        quantity,
        unit,
        unit_price,
    };
    let unpriced = |reason: String| Unpriced { address: address.to_string(), rtype: "aws_db_instance".into(), reason };
    match p.rds.get(engine).and_then(|m| m.get(class)) {
        Some(price) => s.lines.push(line(format!("{role}: {class} {engine}, {az}"), copies * s.hours, "hours", *price)),
        None => s.unpriced.push(unpriced(format!("no price for RDS {engine} {class} in {region} in {PRICES}"))),
    }
    if let Some((gb, kind)) = storage {
        match p.rds_storage_gb_month.get(&kind) {
            Some(price) => s.lines.push(line(
                format!("{role} storage: {gb} GB {kind} × {copies}"),
                gb * copies,
                "GB-months",
                *price,
            )),
            None => s.unpriced.push(unpriced(format!("no price for RDS storage {kind} in {region} in {PRICES}"))),
        }
    }
}

pub(super) fn cache_price(r: &Res, s: &mut Pass, node_type: &str, nodes: f64, shape: String) {
    let engine = text(r.after, "engine").unwrap_or("redis");
    match r.p.elasticache.get(engine).and_then(|m| m.get(node_type)) {
        Some(price) => s.hours(r, format!("{} × {node_type} {engine} ({shape})", nodes), nodes, *price),
        None => s.unpriced(r, format!("no price for ElastiCache {engine} {node_type} in {} in {PRICES}", r.region)),
    }
}

pub(super) fn cache_group(r: &Res, s: &mut Pass) {
    let node_type = text(r.after, "node_type").unwrap_or("?").to_string();
    let groups = num(r.after, "num_node_groups");
    let cluster_mode = groups.is_some() || text(r.after, "cluster_mode") == Some("enabled");
    let (nodes, shape) = if cluster_mode {
        let shards = groups.unwrap_or(1.0);
        let replicas = num(r.after, "replicas_per_node_group").unwrap_or(0.0);
        (shards * (replicas + 1.0), format!("cluster mode: {shards} shards × (1 + {replicas} replicas)"))
    } else {
        let c = num(r.after, "num_cache_clusters").unwrap_or(1.0);
        (c, format!("{c} cache clusters"))
    };
    cache_price(r, s, &node_type, nodes, shape)
}

pub(super) fn cache_cluster(r: &Res, s: &mut Pass) {
    if text(r.after, "replication_group_id").is_some() {
        return; // a member of a replication group, priced there
    }
    let node_type = text(r.after, "node_type").unwrap_or("?").to_string();
    let nodes = num(r.after, "num_cache_nodes").unwrap_or(1.0);
    cache_price(r, s, &node_type, nodes, format!("{nodes} cache nodes"))
}
