//! The two convenience variables `PARLEY_NATS_URL` and `PARLEY_REDIS_URL` (and the `--nats`
//! / `--redis` flags) mapped onto the configuration's `nats.url` and `redis.url`.
//!
//! The configuration loader refuses unknown `PARLEY_*` variables (a typo must not fall back
//! to a default), and these two are not settings of the model (`PARLEY_NATS__URL` is), so
//! they are taken out of the variables before loading and re-added under their setting's
//! name. Precedence, highest first: the flag, `PARLEY_NATS_URL`, `PARLEY_NATS__URL`, the file.

use std::path::Path;

/// The variable naming the NATS server(s) for `parley up` and every service.
pub const NATS_URL_VAR: &str = "PARLEY_NATS_URL";
/// The variable naming the Redis server for `parley up` and every service.
pub const REDIS_URL_VAR: &str = "PARLEY_REDIS_URL";
/// The configuration's own variable for `nats.url`.
pub const NATS_SETTING_VAR: &str = "PARLEY_NATS__URL";
/// The configuration's own variable for `redis.url`.
pub const REDIS_SETTING_VAR: &str = "PARLEY_REDIS__URL";

/// The variables for the configuration loader: `env` without `PARLEY_NATS_URL` and
/// `PARLEY_REDIS_URL`, with the chosen URLs appended as `PARLEY_NATS__URL` /
/// `PARLEY_REDIS__URL` (the last occurrence wins in the loader).
pub fn config_env(
    env: Vec<(String, String)>,
    nats_flag: Option<&str>,
    redis_flag: Option<&str>,
) -> Vec<(String, String)> {
    let mut nats = nats_flag.map(str::to_owned);
    let mut redis = redis_flag.map(str::to_owned);
    let mut out = Vec::with_capacity(env.len() + 2);
    for (name, value) in env {
        match name.as_str() {
            NATS_URL_VAR => {
                nats.get_or_insert(value);
            }
            REDIS_URL_VAR => {
                redis.get_or_insert(value);
            }
            _ => out.push((name, value)),
        }
    }
    if let Some(url) = nats {
        out.push((NATS_SETTING_VAR.to_owned(), url));
    }
    if let Some(url) = redis {
        out.push((REDIS_SETTING_VAR.to_owned(), url));
    }
    out
}

/// Whether `section.url` is set explicitly: by its variable in `env` (after
/// [`config_env`]) or in the configuration file. `parley up` uses the embedded bus (store)
/// when the NATS (Redis) URL is not set anywhere.
pub fn url_is_set(
    env: &[(String, String)],
    file: Option<&Path>,
    section: &str,
) -> crate::Result<bool> {
    let var = format!("PARLEY_{}__URL", section.to_ascii_uppercase());
    if env.iter().any(|(name, _)| *name == var) {
        return Ok(true);
    }
    let Some(path) = file else {
        return Ok(false);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::Error::Input(format!("--config {}: {e}", path.display())))?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| crate::Error::Input(format!("--config {}: {e}", path.display())))?;
    Ok(table
        .get(section)
        .and_then(|s| s.as_table())
        .is_some_and(|s| s.contains_key("url")))
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn convenience_variables_become_settings_and_the_loader_accepts_them() {
        let vars = config_env(
            env(&[
                ("PARLEY_NATS_URL", "nats://a:4222"),
                ("PARLEY_REDIS_URL", "redis://b:6379"),
                ("HOME", "/root"),
            ]),
            None,
            None,
        );
        assert!(
            !vars
                .iter()
                .any(|(k, _)| k == NATS_URL_VAR || k == REDIS_URL_VAR)
        );
        let config = parley_runtime::load_config(None, vars.clone()).unwrap();
        assert_eq!(config.nats.url, "nats://a:4222");
        assert_eq!(config.redis.url, "redis://b:6379");
        assert!(url_is_set(&vars, None, "nats").unwrap());
        assert!(url_is_set(&vars, None, "redis").unwrap());
        // Without the mapping the strict loader refuses them: that is why it exists.
        assert!(
            parley_runtime::load_config(None, env(&[("PARLEY_NATS_URL", "nats://a:4222")]))
                .is_err()
        );
    }

    #[test]
    fn flags_win_over_variables_which_win_over_the_setting_variable() {
        let vars = config_env(
            env(&[
                ("PARLEY_NATS__URL", "nats://setting:4222"),
                ("PARLEY_NATS_URL", "nats://convenience:4222"),
                ("PARLEY_REDIS_URL", "redis://convenience:6379"),
            ]),
            Some("nats://flag:4222"),
            None,
        );
        let config = parley_runtime::load_config(None, vars).unwrap();
        assert_eq!(config.nats.url, "nats://flag:4222");
        assert_eq!(config.redis.url, "redis://convenience:6379");

        let vars = config_env(
            env(&[("PARLEY_NATS__URL", "nats://setting:4222")]),
            None,
            None,
        );
        let config = parley_runtime::load_config(None, vars).unwrap();
        assert_eq!(config.nats.url, "nats://setting:4222");
    }

    #[test]
    fn nothing_set_means_embedded_and_the_file_counts() {
        let vars = config_env(env(&[("HOME", "/root")]), None, None);
        assert!(!url_is_set(&vars, None, "nats").unwrap());
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            file,
            "[redis]\nurl = \"redis://file:6379\"\n[nats]\nreplicas = 1"
        )
        .unwrap();
        assert!(url_is_set(&vars, Some(file.path()), "redis").unwrap());
        assert!(!url_is_set(&vars, Some(file.path()), "nats").unwrap());
    }
}
