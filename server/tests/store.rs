//! The storage engines behind the `Store` trait, each run on SQLite and
//! on PostgreSQL: idempotency claims, racing claims from two stores on
//! one database (two processes, two replicas), migrations started at
//! once, and changes made through one store seen at once by another.

use server::db::{AccountChange, AccountRow, Claim, Database, Db};

#[macro_use]
mod common;
use common::Engine;

async fn idempotency_claims(engine: Engine) {
    let (db, _, _scratch) = engine.fresh().await;
    let tenant_token = db.create_token("acme".into(), "h".into()).await.unwrap();
    assert_eq!(tenant_token, 1);
    let tenant = db.tenant_of("h".into()).await.unwrap().unwrap();
    let claim = |key: &str, hash: &str, now: i64| {
        db.claim_idempotency_key(tenant, key.into(), hash.into(), now, now + 100)
    };
    assert_eq!(claim("k", "x", 0).await.unwrap(), Claim::New);
    assert_eq!(
        claim("k", "x", 5).await.unwrap(),
        Claim::InFlight { created_at: 0 }
    );
    assert_eq!(claim("k", "y", 5).await.unwrap(), Claim::Mismatch);
    db.complete_idempotency_key(tenant, "k".into(), 201, b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(
        claim("k", "x", 6).await.unwrap(),
        Claim::Done {
            status: 201,
            body: b"{}".to_vec()
        }
    );
    // A completed key is not released.
    db.release_idempotency_key(tenant, "k".into())
        .await
        .unwrap();
    assert!(matches!(
        claim("k", "x", 7).await.unwrap(),
        Claim::Done { .. }
    ));
    // Expired: the key is new again.
    assert_eq!(claim("k", "y", 100).await.unwrap(), Claim::New);
    // A released key runs again.
    db.release_idempotency_key(tenant, "k".into())
        .await
        .unwrap();
    assert_eq!(claim("k", "z", 101).await.unwrap(), Claim::New);
    // Keys are per tenant.
    db.create_token("globex".into(), "g".into()).await.unwrap();
    let other = db.tenant_of("g".into()).await.unwrap().unwrap();
    assert_eq!(
        db.claim_idempotency_key(other, "k".into(), "z".into(), 101, 201)
            .await
            .unwrap(),
        Claim::New
    );
}

/// Two stores on one database, as two replicas have: many requests with
/// one key at once, half through each; the database lets one run.
async fn racing_claims_through_two_stores_let_one_run(engine: Engine) {
    let (first, database, _scratch) = engine.fresh().await;
    let second = Db::connect(&database).await.unwrap();
    first.create_token("acme".into(), "h".into()).await.unwrap();
    let tenant = second.tenant_of("h".into()).await.unwrap().unwrap();
    for round in 0..5 {
        let key = format!("race-{round}");
        let claims = (0..16).map(|index| {
            let db = if index % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let key = key.clone();
            tokio::spawn(async move {
                db.claim_idempotency_key(tenant, key, "same".into(), 1_000, 2_000)
                    .await
                    .unwrap()
            })
        });
        let claims: Vec<Claim> = futures::future::join_all(claims)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let new = claims.iter().filter(|claim| **claim == Claim::New).count();
        assert_eq!(new, 1, "round {round}: {claims:?}");
        assert!(
            claims
                .iter()
                .all(|claim| matches!(claim, Claim::New | Claim::InFlight { .. })),
            "{claims:?}"
        );
    }
}

/// Servers starting at once on a new database: each migrates or waits,
/// and every one of them opens it.
async fn stores_opening_a_new_database_at_once_migrate_it_once(engine: Engine) {
    // A database nobody has migrated yet.
    let (database, _scratch) = match &engine {
        Engine::Postgres(url) => {
            let scratch = common::Scratch::schema(url).await;
            let database: Database = scratch.url().unwrap().parse().unwrap();
            (database, scratch)
        }
        Engine::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let database = Database::Sqlite(dir.path().join("new.sqlite"));
            (database, common::Scratch::Dir(dir))
        }
    };
    let opens = (0..4).map(|_| {
        let database = database.clone();
        tokio::spawn(async move { Db::connect(&database).await })
    });
    let stores: Vec<Db> = futures::future::join_all(opens)
        .await
        .into_iter()
        .map(|opened| opened.unwrap().unwrap())
        .collect();
    // Every store works on the one schema.
    stores[0]
        .create_token("acme".into(), "h".into())
        .await
        .unwrap();
    for store in &stores {
        assert_eq!(store.tenant_of("h".into()).await.unwrap(), Some(1));
    }
    if let Database::Postgres(url) = &database {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let versions: Vec<i64> = client
            .query(
                "SELECT version FROM schema_migrations ORDER BY version",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        let expected: Vec<i64> = server::db::POSTGRES_MIGRATIONS
            .iter()
            .map(|migration| migration.version)
            .collect();
        assert_eq!(versions, expected);
    }
}

/// What one store writes, another store (another replica) reads at once:
/// a revoked token, a changed account and its revision, a deletion.
async fn changes_through_one_store_are_seen_by_another_at_once(engine: Engine) {
    let (first, database, _scratch) = engine.fresh().await;
    let second = Db::connect(&database).await.unwrap();
    let id = first
        .create_token("acme".into(), "hash-1".into())
        .await
        .unwrap();
    let tenant = second.tenant_of("hash-1".into()).await.unwrap().unwrap();
    let revoked = first.revoke_token(id).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, None, "answered as it was");
    assert_eq!(second.tenant_of("hash-1".into()).await.unwrap(), None);
    let listed = second.tokens(Some("acme".into())).await.unwrap();
    assert!(listed[0].revoked_at.is_some());
    // Revoking again changes nothing.
    let again = second.revoke_token(id).await.unwrap().unwrap();
    assert_eq!(again.revoked_at, listed[0].revoked_at);
    assert_eq!(second.revoke_token(999).await.unwrap(), None);

    let row = AccountRow {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant,
        provider: "close".into(),
        base_url: None,
        credentials: vec![1, 2, 3],
        key_id: Some("k1".into()),
        settings: "{}".into(),
        created_at: server::db::now(),
        updated_at: None,
        revision: 0,
    };
    first.insert_account(row.clone()).await.unwrap();
    let seen = second
        .account(tenant, row.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.revision, 0);
    assert_eq!(seen.credentials, [1, 2, 3]);
    let changed = second
        .update_account(
            tenant,
            row.id.clone(),
            AccountChange {
                base_url: Some(Some("https://api.close.com".into())),
                sealed: Some(("k2".into(), vec![4, 5])),
                settings: None,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.revision, 1);
    let seen = first
        .account(tenant, row.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.revision, 1);
    assert_eq!(seen.base_url.as_deref(), Some("https://api.close.com"));
    assert_eq!(seen.credentials, [4, 5]);
    assert_eq!(seen.key_id.as_deref(), Some("k2"));
    assert!(seen.updated_at.is_some());
    // Another tenant's account is not changed, and not bumped.
    assert!(
        first
            .update_account(
                tenant + 1,
                row.id.clone(),
                AccountChange {
                    base_url: None,
                    sealed: None,
                    settings: Some("{}".into()),
                }
            )
            .await
            .unwrap()
            .is_none()
    );
    // A re-seal only when the stored value is still the one read.
    assert!(
        !first
            .reseal(row.id.clone(), vec![1, 2, 3], "k3".into(), vec![6])
            .await
            .unwrap()
    );
    assert!(
        first
            .reseal(row.id.clone(), vec![4, 5], "k3".into(), vec![6])
            .await
            .unwrap()
    );
    assert_eq!(
        second.key_usage().await.unwrap(),
        [(Some("k3".to_owned()), 1)]
    );
    assert_eq!(
        second
            .accounts_not_under("k3".into(), 10)
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(second.accounts(tenant).await.unwrap().len(), 1);
    assert!(first.delete_account(tenant, row.id.clone()).await.unwrap());
    assert!(
        second
            .account(tenant, row.id.clone())
            .await
            .unwrap()
            .is_none()
    );
    assert!(!second.delete_account(tenant, row.id).await.unwrap());
}

on_both_engines!(
    idempotency_claims,
    racing_claims_through_two_stores_let_one_run,
    stores_opening_a_new_database_at_once_migrate_it_once,
    changes_through_one_store_are_seen_by_another_at_once,
);
