//! The nine tables of the demo shop and the rules that tie them together.
//!
//! Generation order: customers → products → campaigns → an in-memory plan of the orders (time,
//! customer, channel, status) → web_sessions (one purchase session before every web or app order,
//! the rest random) → web_leads → orders with their order_items and payments (streamed together)
//! → support_tickets. Big tables are streamed row by row; only the small per-entity facts the later
//! tables refer to (customers, products, campaigns, the order plan) stay in memory.
//!
//! Invariants the tests check: every foreign key resolves; an order is placed on or after its
//! customer's registration date; a session's or lead's campaign ran on that day; a ticket's order
//! belongs to the ticket's customer and precedes it; `line_total = round(quantity × unit_price ×
//! (1 − discount_percent/100), 2)`, `items_total = Σ line_total`, `total_amount = items_total −
//! discount_amount + shipping_amount` with free shipping from 100.00; every timestamp lies before
//! the end of the period. All money is computed in whole cents.

use std::collections::HashSet;
use std::path::Path;

use anyhow::Result;

use super::calendar::{civil_from_days, weekday, DAY, HOUR};
use super::names::{
    self, CAMPAIGN_CHANNELS, CATEGORIES, COUNTRIES, GENERIC_TEMPLATES, LANDING_PAGES,
    LANDING_WEIGHTS, SEASONAL_TEMPLATES, TICKET_CATEGORIES,
};
use super::rng::{cumulative, mix64, sample_cum, sample_prefix, Rng};
use super::writer::TableWriter;
use super::{SamplePreset, SampleTable};

// One ChaCha stream per table (or plan), so tables do not shift each other's values.
const STREAM_CUSTOMERS: u64 = 1;
const STREAM_PRODUCTS: u64 = 2;
const STREAM_CAMPAIGNS: u64 = 3;
const STREAM_ORDER_PLAN: u64 = 4;
const STREAM_SESSIONS: u64 = 5;
const STREAM_LEADS: u64 = 6;
const STREAM_ORDERS: u64 = 7;
const STREAM_TICKETS: u64 = 8;
const VISITOR_SALT: u64 = 0x5EED_0F71_5170;

/// Monthly seasonality, January first.
const SEASON: [f64; 12] = [
    0.70, 0.75, 0.90, 0.95, 1.00, 0.95, 0.90, 0.90, 1.00, 1.10, 1.30, 1.50,
];
/// Weekday factor, Monday first.
const WEEKDAY: [f64; 7] = [1.00, 1.00, 1.00, 1.05, 1.15, 0.80, 0.60];
/// Hour-of-day weights (UTC), peak 10–14 h.
const HOURS: [f64; 24] = [
    0.15, 0.08, 0.05, 0.04, 0.05, 0.10, 0.25, 0.50, 0.80, 1.10, 1.45, 1.60, 1.65, 1.60, 1.45, 1.25,
    1.15, 1.10, 1.15, 1.25, 1.30, 1.10, 0.75, 0.40,
];

const SEGMENTS: [&str; 3] = ["b2c", "b2b_small", "b2b_enterprise"];
const SEGMENT_WEIGHTS: [f64; 3] = [0.60, 0.25, 0.15];
/// How much more often a customer of each segment orders.
const SEGMENT_ACTIVITY: [f64; 3] = [1.0, 1.3, 1.6];
const TARGET_SEGMENTS: [&str; 4] = ["all", "b2c", "b2b_small", "b2b_enterprise"];

const CAMPAIGN_CHANNEL_WEIGHTS: [f64; 7] = [0.18, 0.20, 0.20, 0.10, 0.10, 0.08, 0.14];
const CAMPAIGN_BUDGET_FACTOR: [f64; 7] = [0.4, 1.3, 1.1, 0.3, 0.9, 0.6, 0.8];
/// Cost per thousand impressions, euros.
const CAMPAIGN_CPM: [f64; 7] = [1.5, 9.0, 7.0, 2.5, 3.0, 5.0, 6.0];
/// Click-through rate.
const CAMPAIGN_CTR: [f64; 7] = [0.025, 0.045, 0.012, 0.018, 0.004, 0.010, 0.009];

const ORDER_CHANNELS: [&str; 4] = ["web", "mobile_app", "phone", "api"];
const ORDER_CHANNEL_WEIGHTS: [[f64; 4]; 3] = [
    [0.58, 0.35, 0.05, 0.02],
    [0.60, 0.15, 0.15, 0.10],
    [0.35, 0.05, 0.15, 0.45],
];
const ORDER_STATUSES: [&str; 6] = [
    "delivered",
    "shipped",
    "confirmed",
    "pending",
    "cancelled",
    "returned",
];
const CANCELLED: u8 = 4;
const PENDING: u8 = 3;
const RETURNED: u8 = 5;
const DISCOUNTS: [i64; 5] = [0, 5, 10, 15, 20];

const PAYMENT_METHODS: [&str; 6] = [
    "card",
    "paypal",
    "apple_pay",
    "google_pay",
    "bank_transfer",
    "invoice",
];
const PAYMENT_WEIGHTS_B2C: [f64; 6] = [0.50, 0.22, 0.12, 0.08, 0.08, 0.0];
const PAYMENT_WEIGHTS_B2B: [f64; 6] = [0.30, 0.10, 0.0, 0.0, 0.25, 0.35];

const DEVICES: [&str; 3] = ["desktop", "mobile", "tablet"];
const BROWSERS: [&str; 8] = [
    "Chrome",
    "Safari",
    "Firefox",
    "Edge",
    "Samsung Internet",
    "Opera",
    "Shop App (iOS)",
    "Shop App (Android)",
];
const BROWSER_WEIGHTS: [[f64; 8]; 3] = [
    [0.62, 0.12, 0.10, 0.14, 0.0, 0.02, 0.0, 0.0],
    [0.55, 0.35, 0.03, 0.0, 0.07, 0.0, 0.0, 0.0],
    [0.40, 0.55, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0],
];

const LEAD_SOURCES: [&str; 7] = [
    "website_form",
    "newsletter_signup",
    "webinar",
    "trade_show",
    "referral",
    "paid_ad",
    "live_chat",
];
const LEAD_SOURCE_WEIGHTS: [f64; 7] = [0.28, 0.20, 0.10, 0.05, 0.10, 0.15, 0.12];
const PAID_AD: usize = 5;
const LEAD_STATUSES: [&str; 5] = ["new", "contacted", "qualified", "converted", "lost"];
const CONVERTED: usize = 3;
const QUALIFIED: usize = 2;

const PRIORITIES: [&str; 4] = ["low", "medium", "high", "urgent"];
const TICKET_CHANNELS: [&str; 4] = ["email", "chat", "phone", "web_form"];
const TICKET_STATUSES: [&str; 5] = [
    "open",
    "in_progress",
    "waiting_on_customer",
    "resolved",
    "closed",
];
/// Price factor of a product's edition (index 0 = the plain item).
const EDITION_FACTOR: [f64; 6] = [1.0, 1.3, 0.85, 1.15, 0.9, 1.45];

struct Customer {
    first: &'static str,
    last: &'static str,
    company: Option<String>,
    country: usize,
    city: &'static str,
    segment: usize,
    reg_day: i64,
    active: bool,
    weight: f64,
    email: String,
}

struct Product {
    sku: String,
    name: String,
    category: usize,
    price: i64,
    cost: i64,
    grams: i64,
    active: bool,
    created: i64,
    weight: f64,
    path: String,
}

struct Campaign {
    name: String,
    channel: usize,
    status: &'static str,
    budget: i64,
    spend: i64,
    impressions: i64,
    clicks: i64,
    start: i64,
    end: i64,
    target: usize,
    landing: String,
}

/// What later tables need to know about an order, planned before anything of it is written.
struct OrderPlan {
    ts: i64,
    customer: u32,
    channel: u8,
    status: u8,
}

#[derive(Clone, Copy)]
enum Landing {
    Page(&'static str),
    Campaign(u32),
    Product(u32),
}

struct Session {
    ts: i64,
    visitor: u64,
    customer: Option<u32>,
    campaign: Option<u32>,
    duration: i64,
    pages: i64,
    device: usize,
    browser: usize,
    country: usize,
    landing: Landing,
    bounce: bool,
}

struct Ticket {
    ts: i64,
    customer: usize,
    order: Option<usize>,
    category: usize,
    subject: &'static str,
    priority: usize,
    channel: usize,
    status: usize,
    first_response: Option<i64>,
    resolved: Option<i64>,
    score: Option<i64>,
}

struct Shop<'a> {
    p: &'a SamplePreset,
    seed: u64,
    out: &'a Path,
    start_day: i64,
    end_day: i64,
    day_cum: Vec<f64>,
    hour_cum: Vec<f64>,
    country_weights: Vec<f64>,
    customers: Vec<Customer>,
    cust_reg: Vec<i64>,
    cust_cum: Vec<f64>,
    products: Vec<Product>,
    prod_created: Vec<i64>,
    prod_cum: Vec<f64>,
    campaigns: Vec<Campaign>,
    /// Per day of the period: indexes of the campaigns running that day.
    active: Vec<Vec<u32>>,
    orders: Vec<OrderPlan>,
}

/// Write the nine tables into `out` for the period `[start_day, end_day)` (day numbers); returns
/// them in generation order.
pub(crate) fn generate(
    preset: &SamplePreset,
    seed: u64,
    out: &Path,
    start_day: i64,
    end_day: i64,
) -> Result<Vec<SampleTable>> {
    let days = (end_day - start_day).max(1);
    let day_cum = cumulative((0..days).map(|i| {
        let day = start_day + i;
        let growth = 1.0 + 0.5 * i as f64 / (days - 1).max(1) as f64;
        let (_, month, _) = civil_from_days(day);
        growth * SEASON[(month - 1) as usize] * WEEKDAY[weekday(day)]
    }));
    let mut shop = Shop {
        p: preset,
        seed,
        out,
        start_day,
        end_day: start_day + days,
        day_cum,
        hour_cum: cumulative(HOURS),
        country_weights: names::country_weights(),
        customers: Vec::new(),
        cust_reg: Vec::new(),
        cust_cum: Vec::new(),
        products: Vec::new(),
        prod_created: Vec::new(),
        prod_cum: Vec::new(),
        campaigns: Vec::new(),
        active: Vec::new(),
        orders: Vec::new(),
    };
    let mut tables = Vec::with_capacity(9);
    tables.push(shop.customers()?);
    tables.push(shop.products()?);
    tables.push(shop.campaigns()?);
    shop.plan_orders();
    tables.push(shop.web_sessions()?);
    tables.push(shop.web_leads()?);
    tables.extend(shop.orders()?);
    tables.push(shop.support_tickets()?);
    Ok(tables)
}

/// `round(quantity × price × (1 − discount/100))` in cents, half up, exact.
fn line_total(quantity: i64, price_cents: i64, discount_percent: i64) -> i64 {
    (quantity * price_cents * (100 - discount_percent) + 50) / 100
}

impl Shop<'_> {
    fn end_ts(&self) -> i64 {
        self.end_day * DAY
    }

    fn random_day(&self, rng: &mut Rng) -> i64 {
        self.start_day + sample_cum(&self.day_cum, rng.unit()) as i64
    }

    fn random_time(&self, rng: &mut Rng, day: i64) -> i64 {
        day * DAY + sample_cum(&self.hour_cum, rng.unit()) as i64 * HOUR + rng.below(3600) as i64
    }

    /// How many of `n` rows fall on each day of the period (multinomial over the day weights).
    fn day_counts(&self, rng: &mut Rng, n: u64) -> Vec<u64> {
        let mut counts = vec![0u64; self.day_cum.len()];
        for _ in 0..n {
            counts[sample_cum(&self.day_cum, rng.unit())] += 1;
        }
        counts
    }

    /// `k` sorted timestamps on `day`, following the hour-of-day weights.
    fn times_on(&self, rng: &mut Rng, day: i64, k: u64) -> Vec<i64> {
        let mut times: Vec<i64> = (0..k).map(|_| self.random_time(rng, day)).collect();
        times.sort_unstable();
        times
    }

    /// Number of customers registered on or before `day` (they come first, sorted by date).
    fn customers_by(&self, day: i64) -> usize {
        self.cust_reg.partition_point(|&r| r <= day)
    }

    /// A customer registered on or before `day`, weighted by activity (Pareto-like).
    fn pick_customer(&self, rng: &mut Rng, day: i64) -> Option<usize> {
        let k = self.customers_by(day);
        (k > 0).then(|| sample_prefix(&self.cust_cum, k, rng.unit()))
    }

    /// A campaign running on `day` (targeting `segment` or everyone, when given).
    fn pick_campaign(&self, rng: &mut Rng, day: i64, segment: Option<usize>) -> Option<u32> {
        let idx = usize::try_from(day - self.start_day).ok()?;
        let running = self.active.get(idx)?;
        let fits = |c: &&u32| {
            segment.is_none_or(|s| {
                let t = self.campaigns[**c as usize].target;
                t == 0 || t == s + 1
            })
        };
        let n = running.iter().filter(fits).count();
        if n == 0 {
            return None;
        }
        let k = rng.below(n as u64) as usize;
        running.iter().filter(fits).nth(k).copied()
    }

    fn visitor(&self, key: u64) -> u64 {
        mix64(self.seed ^ VISITOR_SALT ^ mix64(key)) >> 16
    }

    fn random_landing(&self, rng: &mut Rng, ts: i64) -> Landing {
        let available = self.prod_created.partition_point(|&t| t < ts);
        if available > 0 && rng.chance(0.25) {
            Landing::Product(sample_prefix(&self.prod_cum, available, rng.unit()) as u32)
        } else {
            Landing::Page(LANDING_PAGES[rng.weighted(&LANDING_WEIGHTS)])
        }
    }

    fn customers(&mut self) -> Result<SampleTable> {
        let mut rng = Rng::new(self.seed, STREAM_CUSTOMERS);
        let n = self.p.customers as usize;
        // About 30 % registered in the two years before the period (at least one, so the first
        // order of the period has someone to place it).
        let before = (n * 3 / 10).max(1).min(n);
        let mut used = HashSet::new();
        let mut list = Vec::with_capacity(n);
        for i in 0..n {
            let reg_day = if i < before {
                self.start_day - 1 - rng.below(730) as i64
            } else {
                self.random_day(&mut rng)
            };
            let segment = rng.weighted(&SEGMENT_WEIGHTS);
            let country = rng.weighted(&self.country_weights);
            let (first, last) = names::person(&mut rng, country);
            let company = (segment > 0).then(|| names::company(&mut rng, country));
            let email = names::email(&mut rng, first, last, country, company.as_ref(), &mut used);
            let city = rng.pick(COUNTRIES[country].cities);
            let active = rng.chance(0.85);
            // Heavy-tailed (Pareto-like, α ≈ 1.5): many one-time buyers, a few regulars.
            let x = 1.0 / (rng.unit() + 0.03);
            let weight = SEGMENT_ACTIVITY[segment] * x * x.sqrt();
            list.push(Customer {
                first,
                last,
                company: company.map(|c| c.name),
                country,
                city,
                segment,
                reg_day,
                active,
                weight,
                email,
            });
        }
        list.sort_by_key(|c| c.reg_day);
        let mut w = TableWriter::create(
            self.out,
            "customers",
            &[
                "customer_id",
                "email",
                "first_name",
                "last_name",
                "company",
                "country",
                "city",
                "segment",
                "registration_date",
                "is_active",
            ],
        )?;
        for (i, c) in list.iter().enumerate() {
            w.id("C-", 6, i as u64 + 1);
            w.text(&c.email);
            w.text(c.first);
            w.text(c.last);
            w.opt_text(c.company.as_deref());
            w.text(COUNTRIES[c.country].code);
            w.text(c.city);
            w.text(SEGMENTS[c.segment]);
            w.date(c.reg_day);
            w.boolean(c.active);
            w.end_row()?;
        }
        self.cust_reg = list.iter().map(|c| c.reg_day).collect();
        self.cust_cum = cumulative(list.iter().map(|c| c.weight));
        self.customers = list;
        w.finish()
    }

    fn products(&mut self) -> Result<SampleTable> {
        let mut rng = Rng::new(self.seed, STREAM_PRODUCTS);
        let base_prices: Vec<[f64; 15]> = CATEGORIES
            .iter()
            .map(|c| {
                let mut prices = [0.0; 15];
                for p in &mut prices {
                    let u = rng.unit();
                    *p = c.price.0 + (c.price.1 - c.price.0) * u * u * u;
                }
                prices
            })
            .collect();
        let n = self.p.products as usize;
        // About 70 % were in the catalogue before the period starts (at least one).
        let before = (n * 7 / 10).max(1).min(n);
        let mut taken: HashSet<(usize, usize, usize, usize)> = HashSet::new();
        let mut list = Vec::with_capacity(n);
        for i in 0..n {
            let mut combo = None;
            for _ in 0..100 {
                let cat = rng.below(CATEGORIES.len() as u64) as usize;
                let c = &CATEGORIES[cat];
                let item = rng.below(15) as usize;
                let edition = if rng.chance(0.5) {
                    0
                } else {
                    rng.below(c.editions.len() as u64) as usize
                };
                let variant = rng.below(c.variants.len() as u64) as usize;
                if taken.insert((cat, item, edition, variant)) {
                    combo = Some((cat, item, edition, variant));
                    break;
                }
            }
            // The catalogue is nearly full: take the first free combination in a fixed order.
            let (cat, item, edition, variant) = combo
                .or_else(|| {
                    let free = CATEGORIES.iter().enumerate().find_map(|(ci, c)| {
                        (0..15).find_map(|it| {
                            (0..c.editions.len()).find_map(|e| {
                                (0..c.variants.len())
                                    .find(|v| !taken.contains(&(ci, it, e, *v)))
                                    .map(|v| (ci, it, e, v))
                            })
                        })
                    });
                    if let Some(f) = free {
                        taken.insert(f);
                    }
                    free
                })
                .unwrap_or((0, 0, 0, 0));
            let c = &CATEGORIES[cat];
            let name = format!(
                "{}{} ({})",
                c.items[item], c.editions[edition], c.variants[variant]
            );
            let sku = format!("{}-{:02}{}{:02}", c.code, item + 1, edition, variant + 1);
            let euros = base_prices[cat][item]
                * EDITION_FACTOR[edition.min(EDITION_FACTOR.len() - 1)]
                * rng.uniform(0.95, 1.05);
            let whole = (euros.ceil() as i64).max(2);
            let price = match rng.weighted(&[0.7, 0.2, 0.1]) {
                0 => whole * 100 - 1,
                1 => whole * 100 - 51,
                _ => whole * 100,
            };
            let cost = (price as f64 * c.cost_ratio * rng.uniform(0.9, 1.1)).round() as i64;
            let u = rng.unit();
            let grams = c.grams.0 + ((c.grams.1 - c.grams.0) as f64 * u * u).round() as i64;
            let active = rng.chance(0.9);
            let day = if i < before {
                self.start_day - 1 - rng.below(1095) as i64
            } else {
                self.random_day(&mut rng)
            };
            let created = day * DAY + rng.between(8 * HOUR, 18 * HOUR);
            let weight = 1.0 / (rng.unit() + 0.02);
            let path = format!("/products/{}", sku.to_ascii_lowercase());
            list.push(Product {
                sku,
                name,
                category: cat,
                price,
                cost,
                grams,
                active,
                created,
                weight,
                path,
            });
        }
        list.sort_by_key(|p| p.created);
        let mut w = TableWriter::create(
            self.out,
            "products",
            &[
                "product_id",
                "sku",
                "name",
                "category",
                "price",
                "cost",
                "weight_kg",
                "is_active",
                "created_at",
            ],
        )?;
        for (i, p) in list.iter().enumerate() {
            w.id("P-", 5, i as u64 + 1);
            w.text(&p.sku);
            w.text(&p.name);
            w.text(CATEGORIES[p.category].name);
            w.money(p.price);
            w.money(p.cost);
            w.thousandths(p.grams);
            w.boolean(p.active);
            w.timestamp(p.created);
            w.end_row()?;
        }
        self.prod_created = list.iter().map(|p| p.created).collect();
        self.prod_cum = cumulative(list.iter().map(|p| p.weight));
        self.products = list;
        w.finish()
    }

    fn campaigns(&mut self) -> Result<SampleTable> {
        let mut rng = Rng::new(self.seed, STREAM_CAMPAIGNS);
        let n = self.p.campaigns as usize;
        let days = self.end_day - self.start_day;
        // Marketing budget of about 15 % of revenue (orders × ~550 EUR average order), split
        // over the campaigns; attribution then finds some campaigns profitable and some not.
        let mean_budget = 0.15 * self.p.orders as f64 * 550.0 / n.max(1) as f64;
        let mut list = Vec::with_capacity(n);
        for _ in 0..n {
            let channel = rng.weighted(&CAMPAIGN_CHANNEL_WEIGHTS);
            let start = self.start_day - 10 + rng.below((days - 4).max(1) as u64) as i64;
            let duration = rng.between(14, 90);
            let end = start + duration - 1;
            let target = rng.weighted(&[0.50, 0.25, 0.13, 0.12]);
            let budget_euros =
                (mean_budget * CAMPAIGN_BUDGET_FACTOR[channel] * rng.uniform(0.4, 1.6)).max(500.0);
            let budget = (budget_euros / 100.0).round() as i64 * 100 * 100;
            let (status, share) = if end < self.end_day {
                ("completed", rng.uniform(0.82, 1.03))
            } else {
                let elapsed = (self.end_day - start) as f64 / duration as f64;
                if rng.chance(0.8) {
                    ("active", elapsed * rng.uniform(0.85, 1.05))
                } else {
                    ("paused", elapsed * rng.uniform(0.4, 0.9))
                }
            };
            let spend = (budget as f64 * share).round() as i64;
            let impressions =
                (spend as f64 / 100.0 / CAMPAIGN_CPM[channel] * 1000.0 * rng.uniform(0.8, 1.2))
                    .round() as i64;
            let clicks =
                (impressions as f64 * CAMPAIGN_CTR[channel] * rng.uniform(0.7, 1.3)).round() as i64;
            let (year, month, _) = civil_from_days(start);
            let template = if rng.chance(0.55) {
                rng.pick(&SEASONAL_TEMPLATES[(month - 1) as usize])
            } else {
                rng.pick(&GENERIC_TEMPLATES)
            };
            let name = format!("{template} - {} {year}", CAMPAIGN_CHANNELS[channel].1);
            let landing = format!("/lp/{}", names::slug(&name));
            list.push(Campaign {
                name,
                channel,
                status,
                budget,
                spend,
                impressions,
                clicks,
                start,
                end,
                target,
                landing,
            });
        }
        list.sort_by_key(|c| c.start);
        let mut w = TableWriter::create(
            self.out,
            "campaigns",
            &[
                "campaign_id",
                "name",
                "channel",
                "status",
                "budget",
                "spend",
                "impressions",
                "clicks",
                "start_date",
                "end_date",
                "target_segment",
            ],
        )?;
        for (i, c) in list.iter().enumerate() {
            w.id("CMP-", 4, i as u64 + 1);
            w.text(&c.name);
            w.text(CAMPAIGN_CHANNELS[c.channel].0);
            w.text(c.status);
            w.money(c.budget);
            w.money(c.spend);
            w.int(c.impressions);
            w.int(c.clicks);
            w.date(c.start);
            w.date(c.end);
            w.text(TARGET_SEGMENTS[c.target]);
            w.end_row()?;
        }
        self.active = vec![Vec::new(); days.max(0) as usize];
        for (i, c) in list.iter().enumerate() {
            for day in c.start.max(self.start_day)..=c.end.min(self.end_day - 1) {
                self.active[(day - self.start_day) as usize].push(i as u32);
            }
        }
        self.campaigns = list;
        w.finish()
    }

    /// Decide when each order is placed, by whom, through which channel and in which status.
    fn plan_orders(&mut self) {
        let mut rng = Rng::new(self.seed, STREAM_ORDER_PLAN);
        let counts = self.day_counts(&mut rng, self.p.orders);
        let end_ts = self.end_ts();
        let mut orders = Vec::with_capacity(self.p.orders as usize);
        for (i, &k) in counts.iter().enumerate() {
            let day = self.start_day + i as i64;
            for ts in self.times_on(&mut rng, day, k) {
                // Someone registered before the period always exists; 0 only guards an empty table.
                let customer = self.pick_customer(&mut rng, day).unwrap_or(0);
                let segment = self.customers.get(customer).map_or(0, |c| c.segment);
                let channel = rng.weighted(&ORDER_CHANNEL_WEIGHTS[segment]);
                let age = end_ts - ts;
                let weights: [f64; 6] = if age < 2 * DAY {
                    [0.0, 0.15, 0.35, 0.40, 0.10, 0.0]
                } else if age < 7 * DAY {
                    [0.22, 0.55, 0.15, 0.0, 0.08, 0.0]
                } else {
                    [0.58, 0.12, 0.08, 0.05, 0.10, 0.07]
                };
                let status = rng.weighted(&weights);
                orders.push(OrderPlan {
                    ts,
                    customer: customer as u32,
                    channel: channel as u8,
                    status: status as u8,
                });
            }
        }
        self.orders = orders;
    }

    fn web_sessions(&self) -> Result<SampleTable> {
        let mut rng = Rng::new(self.seed, STREAM_SESSIONS);
        let n = self.p.web_sessions;
        let start_ts = self.start_day * DAY;
        let mut by_day: Vec<Vec<Session>> = (0..self.day_cum.len()).map(|_| Vec::new()).collect();
        // The session in which each web or app order was placed.
        let mut purchase = 0u64;
        for o in &self.orders {
            if purchase >= n {
                break;
            }
            if o.channel > 1 || self.customers.is_empty() {
                continue;
            }
            let c = &self.customers[o.customer as usize];
            let ts = (o.ts - rng.between(120, 2700)).max(start_ts);
            let day = ts.div_euclid(DAY);
            let campaign = if rng.chance(0.30) {
                self.pick_campaign(&mut rng, day, Some(c.segment))
            } else {
                None
            };
            let (device, browser) = if o.channel == 1 {
                let device = if rng.chance(0.85) { 1 } else { 2 };
                (device, if rng.chance(0.5) { 6 } else { 7 })
            } else {
                let device = rng.weighted(&[0.6, 0.3, 0.1]);
                (device, rng.weighted(&BROWSER_WEIGHTS[device]))
            };
            let landing = match campaign {
                Some(k) => Landing::Campaign(k),
                None => self.random_landing(&mut rng, ts),
            };
            let session = Session {
                ts,
                visitor: self.visitor(u64::from(o.customer) * 2 + u64::from(device != 0)),
                customer: Some(o.customer),
                campaign,
                duration: o.ts - ts + rng.between(30, 600),
                pages: rng.between(3, 25),
                device,
                browser,
                country: c.country,
                landing,
                bounce: false,
            };
            by_day[(day - self.start_day) as usize].push(session);
            purchase += 1;
        }
        let rest = n - purchase;
        let share = |target: f64, fixed: u64| {
            ((target * n as f64 - fixed as f64) / rest.max(1) as f64).clamp(0.0, 1.0)
        };
        let p_customer = share(0.40, purchase).max(0.05);
        let p_bounce = share(0.35, 0).min(0.6);
        let anonymous = (rest / 3).max(1);
        let counts = self.day_counts(&mut rng, rest);
        let mut w = TableWriter::create(
            self.out,
            "web_sessions",
            &[
                "session_id",
                "visitor_id",
                "customer_id",
                "campaign_id",
                "started_at",
                "duration_seconds",
                "pages_viewed",
                "device_type",
                "browser",
                "country",
                "landing_page",
                "is_bounce",
            ],
        )?;
        let mut next_id = 0u64;
        for (i, bucket) in by_day.iter_mut().enumerate() {
            let day = self.start_day + i as i64;
            for ts in self.times_on(&mut rng, day, counts[i]) {
                let customer = if rng.chance(p_customer) {
                    self.pick_customer(&mut rng, day)
                } else {
                    None
                };
                let segment = customer.map(|c| self.customers[c].segment);
                let campaign = if rng.chance(0.25) {
                    self.pick_campaign(&mut rng, day, segment)
                } else {
                    None
                };
                let device = rng.weighted(&[0.45, 0.45, 0.10]);
                let browser = rng.weighted(&BROWSER_WEIGHTS[device]);
                let bounce = rng.chance(p_bounce);
                let (pages, duration) = if bounce {
                    (1, rng.between(0, 30))
                } else {
                    let extra = if rng.chance(0.25) {
                        rng.between(0, 19)
                    } else {
                        0
                    };
                    let pages = 2 + rng.between(0, 5) + extra;
                    (pages, pages * rng.between(20, 120))
                };
                let (country, visitor) = match customer {
                    Some(c) => (
                        self.customers[c].country,
                        self.visitor(c as u64 * 2 + u64::from(device != 0)),
                    ),
                    None => (
                        rng.weighted(&self.country_weights),
                        self.visitor((1 << 40) + rng.below(anonymous)),
                    ),
                };
                let landing = match campaign {
                    Some(k) => Landing::Campaign(k),
                    None => self.random_landing(&mut rng, ts),
                };
                bucket.push(Session {
                    ts,
                    visitor,
                    customer: customer.map(|c| c as u32),
                    campaign,
                    duration,
                    pages,
                    device,
                    browser,
                    country,
                    landing,
                    bounce,
                });
            }
            bucket.sort_by_key(|s| s.ts);
            for s in bucket.drain(..) {
                next_id += 1;
                w.id("S-", 8, next_id);
                w.fmt(format_args!("v-{:012x}", s.visitor));
                w.opt_id("C-", 6, s.customer.map(|c| u64::from(c) + 1));
                w.opt_id("CMP-", 4, s.campaign.map(|c| u64::from(c) + 1));
                w.timestamp(s.ts);
                w.int(s.duration);
                w.int(s.pages);
                w.text(DEVICES[s.device]);
                w.text(BROWSERS[s.browser]);
                w.text(COUNTRIES[s.country].code);
                match s.landing {
                    Landing::Page(p) => w.text(p),
                    Landing::Campaign(k) => w.text(&self.campaigns[k as usize].landing),
                    Landing::Product(p) => w.text(&self.products[p as usize].path),
                }
                w.boolean(s.bounce);
                w.end_row()?;
            }
            *bucket = Vec::new();
        }
        w.finish()
    }

    fn web_leads(&self) -> Result<SampleTable> {
        let mut rng = Rng::new(self.seed, STREAM_LEADS);
        let counts = self.day_counts(&mut rng, self.p.web_leads);
        let end_ts = self.end_ts();
        let mut w = TableWriter::create(
            self.out,
            "web_leads",
            &[
                "lead_id",
                "customer_id",
                "email",
                "source",
                "campaign_id",
                "created_at",
                "status",
                "converted_at",
            ],
        )?;
        let mut next_id = 0u64;
        for (i, &k) in counts.iter().enumerate() {
            let day = self.start_day + i as i64;
            for ts in self.times_on(&mut rng, day, k) {
                let source = rng.weighted(&LEAD_SOURCE_WEIGHTS);
                let mut status = if end_ts - ts < 7 * DAY {
                    rng.weighted(&[0.55, 0.30, 0.15, 0.0, 0.0])
                } else {
                    rng.weighted(&[0.12, 0.20, 0.20, 0.26, 0.22])
                };
                let mut converted_at = None;
                if status == CONVERTED {
                    let delay = rng.between(HOUR, 30 * DAY);
                    if ts + delay < end_ts {
                        converted_at = Some(ts + delay);
                    } else {
                        status = QUALIFIED;
                    }
                }
                // A converted lead is one of the customers who registered shortly before the
                // conversion; some other leads come from existing customers.
                let customer = match converted_at {
                    Some(at) => {
                        let k = self.customers_by(at.div_euclid(DAY));
                        (k > 0).then(|| k - 1 - rng.below(k.min(20) as u64) as usize)
                    }
                    None if rng.chance(0.43) => {
                        let k = self.customers_by(day);
                        (k > 0).then(|| rng.below(k as u64) as usize)
                    }
                    None => None,
                };
                let p_campaign = if source == PAID_AD { 0.9 } else { 0.33 };
                let campaign = if rng.chance(p_campaign) {
                    self.pick_campaign(&mut rng, day, None)
                } else {
                    None
                };
                next_id += 1;
                w.id("L-", 6, next_id);
                w.opt_id("C-", 6, customer.map(|c| c as u64 + 1));
                match customer {
                    Some(c) => w.text(&self.customers[c].email),
                    None => {
                        let country = rng.weighted(&self.country_weights);
                        w.text(&names::lead_email(&mut rng, country));
                    }
                }
                w.text(LEAD_SOURCES[source]);
                w.opt_id("CMP-", 4, campaign.map(|c| u64::from(c) + 1));
                w.timestamp(ts);
                w.text(LEAD_STATUSES[status]);
                w.opt_timestamp(converted_at);
                w.end_row()?;
            }
        }
        w.finish()
    }

    /// orders, order_items and payments, streamed together in order of time.
    fn orders(&self) -> Result<[SampleTable; 3]> {
        let mut rng = Rng::new(self.seed, STREAM_ORDERS);
        let end_ts = self.end_ts();
        let mut wo = TableWriter::create(
            self.out,
            "orders",
            &[
                "order_id",
                "customer_id",
                "created_at",
                "status",
                "items_total",
                "discount_amount",
                "shipping_amount",
                "total_amount",
                "channel",
            ],
        )?;
        let mut wi = TableWriter::create(
            self.out,
            "order_items",
            &[
                "order_item_id",
                "order_id",
                "product_id",
                "quantity",
                "unit_price",
                "discount_percent",
                "line_total",
            ],
        )?;
        let mut wp = TableWriter::create(
            self.out,
            "payments",
            &[
                "payment_id",
                "order_id",
                "customer_id",
                "amount",
                "currency",
                "method",
                "status",
                "created_at",
                "completed_at",
            ],
        )?;
        let mut item_no = 0u64;
        let mut payment_no = 0u64;
        let mut picked: Vec<usize> = Vec::with_capacity(8);
        for (i, o) in self.orders.iter().enumerate() {
            let order_no = i as u64 + 1;
            let customer_no = u64::from(o.customer) + 1;
            let (segment, country) = self
                .customers
                .get(o.customer as usize)
                .map_or((0, 0), |c| (c.segment, c.country));
            let b2b = segment > 0;
            let available = self.prod_created.partition_point(|&t| t < o.ts).max(1);
            let wanted = if b2b {
                1 + rng.weighted(&[0.30, 0.20, 0.15, 0.10, 0.09, 0.07, 0.05, 0.04])
            } else {
                1 + rng.weighted(&[0.55, 0.25, 0.12, 0.05, 0.03])
            }
            .min(available);
            picked.clear();
            let mut tries = 0;
            while picked.len() < wanted && tries < wanted * 20 && !self.products.is_empty() {
                let p = sample_prefix(&self.prod_cum, available, rng.unit());
                if !picked.contains(&p) {
                    picked.push(p);
                }
                tries += 1;
            }
            let mut items_total = 0i64;
            for &p in &picked {
                let price = self.products[p].price;
                let quantity = match segment {
                    0 => 1 + rng.weighted(&[0.85, 0.12, 0.03]) as i64,
                    1 => 1 + rng.weighted(&[0.35, 0.25, 0.20, 0.10, 0.10]) as i64,
                    _ => [1, 2, 3, 5, 10, 20][rng.weighted(&[0.20, 0.20, 0.20, 0.20, 0.15, 0.05])],
                };
                let discount = DISCOUNTS[if b2b {
                    rng.weighted(&[0.50, 0.20, 0.15, 0.10, 0.05])
                } else {
                    rng.weighted(&[0.72, 0.10, 0.10, 0.04, 0.04])
                }];
                let line = line_total(quantity, price, discount);
                items_total += line;
                item_no += 1;
                wi.id("OI-", 8, item_no);
                wi.id("ORD-", 7, order_no);
                wi.id("P-", 5, p as u64 + 1);
                wi.int(quantity);
                wi.money(price);
                wi.int(discount);
                wi.money(line);
                wi.end_row()?;
            }
            // A coupon on about 12 % of orders: 10 % off, or 5.00 off from 20.00.
            let coupon = if rng.chance(0.12) {
                if items_total >= 2000 && rng.chance(0.4) {
                    500
                } else {
                    (items_total + 5) / 10
                }
            } else {
                0
            };
            let shipping = if items_total >= 10_000 {
                0
            } else {
                COUNTRIES[country].shipping_cents
            };
            let total = items_total - coupon + shipping;
            wo.id("ORD-", 7, order_no);
            wo.id("C-", 6, customer_no);
            wo.timestamp(o.ts);
            wo.text(ORDER_STATUSES[o.status as usize]);
            wo.money(items_total);
            wo.money(coupon);
            wo.money(shipping);
            wo.money(total);
            wo.text(ORDER_CHANNELS[o.channel as usize]);
            wo.end_row()?;

            let method = rng.weighted(if b2b {
                &PAYMENT_WEIGHTS_B2B
            } else {
                &PAYMENT_WEIGHTS_B2C
            });
            let mut attempt_at = o.ts;
            if rng.chance(0.05) {
                // A declined attempt (always by card or wallet) before the one that counts.
                let failed_method = if method < 4 { method } else { 0 };
                let failed_at = (o.ts + rng.between(5, 120)).min(end_ts - 1);
                payment_no += 1;
                wp.id("PAY-", 7, payment_no);
                wp.id("ORD-", 7, order_no);
                wp.id("C-", 6, customer_no);
                wp.money(total);
                wp.text("EUR");
                wp.text(PAYMENT_METHODS[failed_method]);
                wp.text("failed");
                wp.timestamp(failed_at);
                wp.null();
                wp.end_row()?;
                attempt_at = failed_at;
            }
            let created = (attempt_at + rng.between(30, 600)).min(end_ts - 1);
            let delay = match PAYMENT_METHODS[method] {
                "bank_transfer" => rng.between(DAY, 3 * DAY),
                "invoice" => rng.between(7 * DAY, 30 * DAY),
                _ => rng.between(2, 90),
            };
            let (status, completed) = match o.status {
                CANCELLED => ("cancelled", None),
                PENDING => ("pending", None),
                s if created + delay < end_ts => (
                    if s == RETURNED {
                        "refunded"
                    } else {
                        "completed"
                    },
                    Some(created + delay),
                ),
                _ => ("pending", None),
            };
            payment_no += 1;
            wp.id("PAY-", 7, payment_no);
            wp.id("ORD-", 7, order_no);
            wp.id("C-", 6, customer_no);
            wp.money(total);
            wp.text("EUR");
            wp.text(PAYMENT_METHODS[method]);
            wp.text(status);
            wp.timestamp(created);
            wp.opt_timestamp(completed);
            wp.end_row()?;
        }
        Ok([wo.finish()?, wi.finish()?, wp.finish()?])
    }

    fn support_tickets(&self) -> Result<SampleTable> {
        let mut rng = Rng::new(self.seed, STREAM_TICKETS);
        let end_ts = self.end_ts();
        let n = self.p.support_tickets as usize;
        let mut list = Vec::with_capacity(n);
        let mut subjects: Vec<&'static str> = Vec::with_capacity(8);
        for _ in 0..n {
            let mut about_order = None;
            if rng.chance(0.60) && !self.orders.is_empty() {
                for _ in 0..20 {
                    let oi = rng.below(self.orders.len() as u64) as usize;
                    let room = end_ts - 1 - self.orders[oi].ts;
                    if room >= 2 * HOUR {
                        let ts = self.orders[oi].ts + rng.between(HOUR, room.min(21 * DAY));
                        about_order = Some((oi, ts));
                        break;
                    }
                }
            }
            let (customer, order, ts) = match about_order {
                Some((oi, ts)) => (self.orders[oi].customer as usize, Some(oi), ts),
                None => {
                    let day = self.random_day(&mut rng);
                    let ts = self.random_time(&mut rng, day);
                    (self.pick_customer(&mut rng, day).unwrap_or(0), None, ts)
                }
            };
            // shipping, returns, order_issue, billing, product_question, technical, account
            let weights: [f64; 7] = match order {
                Some(oi) if self.orders[oi].status == RETURNED => {
                    [0.10, 0.60, 0.10, 0.10, 0.10, 0.0, 0.0]
                }
                Some(_) => [0.32, 0.14, 0.22, 0.16, 0.16, 0.0, 0.0],
                None => [0.0, 0.0, 0.0, 0.15, 0.25, 0.25, 0.35],
            };
            let category = rng.weighted(&weights);
            subjects.clear();
            subjects.extend(
                TICKET_CATEGORIES[category]
                    .1
                    .iter()
                    .filter(|s| order.is_some() || !s.contains("{order}")),
            );
            let subject = rng.pick(&subjects);
            let priority = rng.weighted(&[0.30, 0.45, 0.20, 0.05]);
            let channel = rng.weighted(&[0.45, 0.30, 0.15, 0.10]);
            let response_minutes = match priority {
                3 => rng.between(5, 60),
                2 => rng.between(15, 240),
                1 => rng.between(30, 720),
                _ => rng.between(60, 2880),
            };
            let first_response = ts + response_minutes * 60;
            let hours = if rng.chance(0.03) {
                rng.uniform(721.0, 2000.0)
            } else {
                let (lo, hi) = [(8.0, 240.0), (4.0, 120.0), (2.0, 72.0), (1.0, 24.0)][priority];
                let u = rng.unit();
                lo + (hi - lo) * u * u
            };
            let resolved = ts + ((hours * 3600.0).round() as i64).max(response_minutes * 60 + 60);
            let (status, first_response, resolved) = if rng.chance(0.82) && resolved < end_ts {
                let closed = resolved + 3 * DAY < end_ts && rng.chance(0.55);
                (
                    if closed { 4 } else { 3 },
                    Some(first_response),
                    Some(resolved),
                )
            } else if first_response >= end_ts {
                (0, None, None)
            } else {
                match rng.weighted(&[0.2, 0.5, 0.3]) {
                    0 => (0, None, None),
                    s => (s, Some(first_response), None),
                }
            };
            let score = match resolved {
                Some(r) if rng.chance(0.7) => {
                    let slow = r - ts > 72 * HOUR;
                    let dist = if slow {
                        [0.12, 0.13, 0.20, 0.30, 0.25]
                    } else {
                        [0.04, 0.05, 0.11, 0.32, 0.48]
                    };
                    Some(1 + rng.weighted(&dist) as i64)
                }
                _ => None,
            };
            list.push(Ticket {
                ts,
                customer,
                order,
                category,
                subject,
                priority,
                channel,
                status,
                first_response,
                resolved,
                score,
            });
        }
        list.sort_by_key(|t| t.ts);
        let mut w = TableWriter::create(
            self.out,
            "support_tickets",
            &[
                "ticket_id",
                "customer_id",
                "order_id",
                "category",
                "priority",
                "status",
                "channel",
                "subject",
                "created_at",
                "first_response_at",
                "resolved_at",
                "satisfaction_score",
            ],
        )?;
        for (i, t) in list.iter().enumerate() {
            w.id("TKT-", 6, i as u64 + 1);
            w.id("C-", 6, t.customer as u64 + 1);
            w.opt_id("ORD-", 7, t.order.map(|o| o as u64 + 1));
            w.text(TICKET_CATEGORIES[t.category].0);
            w.text(PRIORITIES[t.priority]);
            w.text(TICKET_STATUSES[t.status]);
            w.text(TICKET_CHANNELS[t.channel]);
            match (t.subject.split_once("{order}"), t.order) {
                (Some((before, after)), Some(o)) => {
                    w.fmt(format_args!("{before}ORD-{:07}{after}", o + 1))
                }
                _ => w.text(t.subject),
            }
            w.timestamp(t.ts);
            w.opt_timestamp(t.first_response);
            w.opt_timestamp(t.resolved);
            w.opt_int(t.score);
            w.end_row()?;
        }
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_totals_round_half_up_in_cents() {
        assert_eq!(line_total(1, 1999, 0), 1999);
        assert_eq!(line_total(3, 1999, 15), 5097); // 50.9745 → 50.97
        assert_eq!(line_total(1, 1050, 5), 998); // 9.975 → 9.98
        assert_eq!(line_total(2, 4999, 20), 7998);
    }

    #[test]
    fn weights_cover_every_choice() {
        assert_eq!(ORDER_STATUSES.len(), 6);
        assert_eq!(ORDER_STATUSES[CANCELLED as usize], "cancelled");
        assert_eq!(ORDER_STATUSES[PENDING as usize], "pending");
        assert_eq!(ORDER_STATUSES[RETURNED as usize], "returned");
        assert_eq!(LEAD_STATUSES[CONVERTED], "converted");
        assert_eq!(LEAD_SOURCES[PAID_AD], "paid_ad");
        assert_eq!(PAYMENT_METHODS[4], "bank_transfer");
        assert!((SEGMENT_WEIGHTS.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
}
