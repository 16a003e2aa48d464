//! Catalog sync for [`HubexClient`]: districts, dictionaries, locations,
//! companies and assets in paged list reads, and which asset is in which
//! участок the cheapest way the tenant allows (export per участок, an
//! honoured `districtID` filter, or per-asset reads only for new or changed
//! assets).

use super::*;

/// Counts finished reads of a phase for the progress shown on the admin page.
struct Counter<'a> {
    phase: &'static str,
    done: std::sync::atomic::AtomicUsize,
    total: usize,
    progress: &'a dyn Progress,
}

impl Counter<'_> {
    fn tick(&self) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.progress.step(self.phase, n, self.total);
    }
}

/// Changes when a kept field of the asset changes.
fn fingerprint(a: &Asset) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [
        Some(a.name.as_str()),
        a.serial_number.as_deref(),
        a.inventory_number.as_deref(),
    ] {
        h.update(part.unwrap_or("\u{0}").as_bytes());
        h.update([0xff]);
    }
    h.update(a.company_id.map_or(-1, |c| c.0).to_le_bytes());
    h.update(a.location_id.map_or(-1, |l| l.0).to_le_bytes());
    crate::domain::codes::hex(&h.finalize()[..12])
}

/// What a probe of a `districtID` filter found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterProbe {
    /// An unknown участок gave no assets: the filter works.
    Honoured,
    /// An unknown участок gave assets: the filter is ignored.
    Ignored,
    /// 403: the API user's role lacks the right.
    Forbidden,
    /// The path does not exist on this tenant.
    Unavailable,
}

impl HubexClient {
    /// `GET /ES/Districts`: the participating участки (name needed).
    pub(crate) async fn districts(&self, sx: &Surprises) -> Result<Vec<District>, BackendError> {
        let path = "/ES/Districts";
        let mut by_id = BTreeMap::new();
        for (id, d) in self
            .list::<wire::District>(path, &[], Priority::Background, sx)
            .await?
        {
            let id = d.district_id.unwrap_or(id);
            let Some(name) = d.name else {
                sx.note(
                    path,
                    "участок without a name skipped",
                    &format!("id {id}"),
                    "",
                );
                continue;
            };
            by_id.insert(
                id,
                District {
                    id: DistrictId(id),
                    name,
                    parent_id: d.parent_id.map(DistrictId),
                    assets_count: d.assets_count,
                },
            );
        }
        Ok(by_id.into_values().collect())
    }

    async fn dictionary(
        &self,
        path: &str,
        sx: &Surprises,
    ) -> Result<Vec<(i64, wire::Dictionary, String)>, BackendError> {
        let mut by_id = BTreeMap::new();
        for (id, d) in self
            .list::<wire::Dictionary>(path, &[], Priority::Background, sx)
            .await?
        {
            match d.name.clone() {
                Some(name) => {
                    by_id.insert(id, (id, d, name));
                }
                None => sx.note(
                    path,
                    "entry without a name skipped",
                    &format!("id {id}"),
                    "",
                ),
            }
        }
        Ok(by_id.into_values().collect())
    }

    pub(crate) async fn task_types(&self, sx: &Surprises) -> Result<Vec<Named>, BackendError> {
        Ok(named(self.dictionary("/WORK/TaskTypes", sx).await?))
    }

    pub(crate) async fn request_methods(&self, sx: &Surprises) -> Result<Vec<Named>, BackendError> {
        Ok(named(self.dictionary("/WORK/RequestMethods", sx).await?))
    }

    pub(crate) async fn criticalities(
        &self,
        sx: &Surprises,
    ) -> Result<Vec<Criticality>, BackendError> {
        Ok(self
            .dictionary("/SLA/Criticalities", sx)
            .await?
            .into_iter()
            .map(|(id, d, name)| Criticality {
                id,
                name,
                color: d.color,
                is_default: d.is_default.unwrap_or(false),
                sort_order: d.sort_order,
            })
            .collect())
    }

    /// `GET /ES/Assets`: every asset the API user sees (id and name needed).
    async fn assets(&self, sx: &Surprises) -> Result<Vec<Asset>, BackendError> {
        let path = "/ES/Assets";
        let mut by_id = BTreeMap::new();
        for (id, a) in self
            .list::<wire::Asset>(path, &[], Priority::Background, sx)
            .await?
        {
            let Some(name) = a.name else {
                sx.note(
                    path,
                    "asset without a name skipped",
                    &format!("id {id}"),
                    "",
                );
                continue;
            };
            let mut asset = Asset {
                id: AssetId(id),
                name,
                serial_number: a.serial_number,
                inventory_number: a.inventory_number,
                company_id: a.company.and_then(|c| c.id).or(a.company_id).map(CompanyId),
                location_id: a
                    .location
                    .and_then(|l| l.id)
                    .or(a.location_id)
                    .map(LocationId),
                districts: Vec::new(),
                fingerprint: String::new(),
            };
            asset.fingerprint = fingerprint(&asset);
            by_id.insert(id, asset);
        }
        Ok(by_id.into_values().collect())
    }

    /// Asks `path` for the assets of a участок that does not exist.
    pub(crate) async fn probe_district_filter(
        &self,
        path: &str,
        priority: Priority,
    ) -> Result<FilterProbe, BackendError> {
        let resp = self
            .send(priority, || {
                self.get(path)
                    .query(&[("districtID", NO_SUCH_DISTRICT)])
                    .header(header::RANGE, "items=1-1")
            })
            .await?;
        let status = resp.status();
        if status == StatusCode::FORBIDDEN {
            return Ok(FilterProbe::Forbidden);
        }
        if matches!(status.as_u16(), 400 | 404 | 405 | 409 | 501) {
            return Ok(FilterProbe::Unavailable);
        }
        let resp = check(resp).await?;
        let bytes = resp.bytes().await.map_err(network_error)?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let items = read::split_list(value).map(|i| i.len()).unwrap_or(0);
        Ok(if items == 0 {
            FilterProbe::Honoured
        } else {
            FilterProbe::Ignored
        })
    }

    /// Learns every asset's участки from a list filtered by участок, one
    /// paged read per участок.
    async fn map_by_district(
        &self,
        path: &str,
        assets: &mut [Asset],
        districts: &[District],
        sx: &Surprises,
        progress: &dyn Progress,
    ) -> Result<(), BackendError> {
        let index: HashMap<i64, usize> = assets
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.0, i))
            .collect();
        let counter = Counter {
            phase: "участки",
            done: Default::default(),
            total: districts.len(),
            progress,
        };
        let reads: Vec<_> = districts
            .iter()
            .map(|d| self.district_members(path, d.id, sx, &counter))
            .collect();
        let members: Vec<(DistrictId, Vec<i64>)> = stream::iter(reads)
            .buffer_unordered(4)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        for a in assets.iter_mut() {
            a.districts.clear();
        }
        for (district, ids) in members {
            for id in ids {
                if let Some(&i) = index.get(&id) {
                    if !assets[i].districts.contains(&district) {
                        assets[i].districts.push(district);
                    }
                }
            }
        }
        Ok(())
    }

    /// The ids of the assets `path` lists for one участок.
    async fn district_members(
        &self,
        path: &str,
        district: DistrictId,
        sx: &Surprises,
        counter: &Counter<'_>,
    ) -> Result<(DistrictId, Vec<i64>), BackendError> {
        let mut ids = Vec::new();
        self.list_each::<Value>(
            path,
            &[("districtID", district.to_string())],
            Priority::Background,
            sx,
            MAX_PAGES,
            |id, _| {
                if let Some(id) = id {
                    ids.push(id);
                }
                ControlFlow::Continue(())
            },
        )
        .await?;
        counter.tick();
        Ok((district, ids))
    }

    /// One asset's участки, counted for progress.
    async fn counted_asset_districts(
        &self,
        i: usize,
        id: AssetId,
        districts: &[District],
        sx: &Surprises,
        counter: &Counter<'_>,
    ) -> Result<(usize, Vec<DistrictId>), BackendError> {
        let ds = self.asset_districts(id, districts, sx).await?;
        counter.tick();
        Ok((i, ds))
    }

    /// `GET /ES/Assets/{id}/districts`: items carry a name and no id, so
    /// they are matched by name against the участки list.
    async fn asset_districts(
        &self,
        asset: AssetId,
        districts: &[District],
        sx: &Surprises,
    ) -> Result<Vec<DistrictId>, BackendError> {
        let path = format!("/ES/Assets/{asset}/districts");
        let mut out = Vec::new();
        self.list_each::<wire::District>(
            &path,
            &[],
            Priority::Background,
            sx,
            MAX_PAGES,
            |id, d| {
                let by_name = d.name.as_deref().and_then(|name| {
                    districts
                        .iter()
                        .find(|known| known.name == name)
                        .map(|known| known.id)
                });
                match d
                    .district_id
                    .or(d.id)
                    .map(DistrictId)
                    .or(by_name)
                    .or(id.map(DistrictId))
                {
                    Some(found) if !out.contains(&found) => out.push(found),
                    Some(_) => {}
                    None => sx.note(
                        &path,
                        "участок of an asset not found by id or name",
                        d.name.as_deref().unwrap_or("(no name)"),
                        "",
                    ),
                }
                ControlFlow::Continue(())
            },
        )
        .await?;
        Ok(out)
    }

    /// Fills every asset's участки the cheapest way that works, and says how.
    /// Returns the description and whether every asset was mapped afresh.
    async fn map_districts(
        &self,
        assets: &mut [Asset],
        districts: &[District],
        known: &KnownCatalog,
        sx: &Surprises,
        progress: &dyn Progress,
    ) -> Result<(String, bool), BackendError> {
        let changed: HashSet<AssetId> = assets
            .iter()
            .filter(|a| {
                known
                    .assets
                    .get(&a.id)
                    .is_none_or(|(f, _)| *f != a.fingerprint)
            })
            .map(|a| a.id)
            .collect();
        let counts_same = !districts.is_empty()
            && known.district_counts.len() == districts.len()
            && districts.iter().all(|d| {
                d.assets_count.is_some()
                    && known.district_counts.get(&d.id) == d.assets_count.as_ref()
            });
        let mapping_fresh = known
            .mapped_at
            .is_some_and(|t| crate::store::now_ms() - t < FULL_MAPPING_EVERY_MS);
        let keep_known = |assets: &mut [Asset]| {
            for a in assets.iter_mut() {
                if let Some((_, ds)) = known.assets.get(&a.id) {
                    a.districts = ds.clone();
                }
            }
        };
        if changed.is_empty() && counts_same && mapping_fresh {
            keep_known(assets);
            return Ok((
                crate::backend::hubex::defaults::SOURCE_UNCHANGED.into(),
                false,
            ));
        }
        for (path, how) in [
            (
                "/EXPORT/Assets",
                crate::backend::hubex::defaults::SOURCE_EXPORT,
            ),
            (
                "/ES/Assets",
                crate::backend::hubex::defaults::SOURCE_ASSET_FILTER,
            ),
        ] {
            match self
                .probe_district_filter(path, Priority::Background)
                .await?
            {
                FilterProbe::Honoured => {
                    self.map_by_district(path, assets, districts, sx, progress)
                        .await?;
                    return Ok((how.into(), true));
                }
                other => {
                    tracing::debug!(path, ?other, "district filter not usable");
                }
            }
        }
        // No bulk form: per asset, and only for new or changed assets.
        keep_known(assets);
        let todo: Vec<usize> = assets
            .iter()
            .enumerate()
            .filter(|(_, a)| changed.contains(&a.id) || !known.assets.contains_key(&a.id))
            .map(|(i, _)| i)
            .collect();
        let total = todo.len();
        let counter = Counter {
            phase: "asset districts",
            done: Default::default(),
            total,
            progress,
        };
        let reads: Vec<_> = todo
            .into_iter()
            .map(|i| self.counted_asset_districts(i, assets[i].id, districts, sx, &counter))
            .collect();
        let found: Vec<(usize, Vec<DistrictId>)> = stream::iter(reads)
            .buffer_unordered(4)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        for (i, ds) in found {
            assets[i].districts = ds;
        }
        Ok((
            format!(
                "{}:{total}",
                crate::backend::hubex::defaults::SOURCE_PER_ASSET
            ),
            false,
        ))
    }

    pub(in crate::backend::hubex) async fn catalog(
        &self,
        known: &KnownCatalog,
        progress: &dyn Progress,
    ) -> Result<CatalogSnapshot, BackendError> {
        let sx = Surprises::default();
        let calls_before = self.calls();
        progress.step("districts", 0, 0);
        let districts = self.districts(&sx).await?;
        progress.step("dictionaries", 0, 0);
        let task_types = self.task_types(&sx).await?;
        let request_methods = self.request_methods(&sx).await?;
        let criticalities = self.criticalities(&sx).await?;
        let anonymous_user = self.anonymous_user(Priority::Background).await?;
        progress.step("locations", 0, 0);
        let locations = self
            .list::<wire::Location>("/ES/Locations", &[], Priority::Background, &sx)
            .await?
            .into_iter()
            .map(|(id, l)| {
                (
                    id,
                    Location {
                        id: LocationId(id),
                        address: l
                            .address
                            .or_else(|| l.description.clone())
                            .unwrap_or_default(),
                        description: l.description,
                    },
                )
            })
            .collect::<BTreeMap<_, _>>();
        progress.step("companies", 0, 0);
        let mut companies = BTreeMap::new();
        for (id, c) in self
            .list::<wire::Company>("/ES/Companies", &[], Priority::Background, &sx)
            .await?
        {
            match c.name {
                Some(name) => {
                    companies.insert(
                        id,
                        Company {
                            id: CompanyId(id),
                            name,
                        },
                    );
                }
                None => sx.note(
                    "/ES/Companies",
                    "company without a name skipped",
                    &format!("id {id}"),
                    "",
                ),
            }
        }
        progress.step("assets", 0, 0);
        let mut assets = self.assets(&sx).await?;
        let (district_source, mapped_in_full) = self
            .map_districts(&mut assets, &districts, known, &sx, progress)
            .await?;
        sx.log_summary("catalog sync");
        Ok(CatalogSnapshot {
            districts,
            locations: locations.into_values().collect(),
            companies: companies.into_values().collect(),
            assets,
            task_types,
            criticalities,
            request_methods,
            anonymous_user,
            district_source,
            mapped_in_full,
            calls: self.calls() - calls_before,
        })
    }
}

fn named(items: Vec<(i64, wire::Dictionary, String)>) -> Vec<Named> {
    items
        .into_iter()
        .map(|(id, d, name)| Named {
            id,
            name,
            is_default: d.is_default.unwrap_or(false),
        })
        .collect()
}
