use crate::Secret;
use reqwest::RequestBuilder;
use reqwest::header::HeaderValue;

/// One credential, as a `securityScheme` of the spec describes it.
#[derive(Clone, Debug)]
pub enum Credential {
    /// HTTP basic authentication.
    Basic { username: Secret, password: Secret },
    /// HTTP bearer authentication.
    Bearer(Secret),
    /// An API key sent in a header.
    Header { name: &'static str, value: Secret },
    /// An API key sent in the query string.
    Query { name: &'static str, value: Secret },
}

/// The credentials a client holds, keyed by the name of the security
/// scheme they satisfy. Set once on the client, applied to every request of
/// an operation that accepts that scheme.
#[derive(Clone, Debug, Default)]
pub struct Auth {
    credentials: Vec<(&'static str, Credential)>,
}

impl Auth {
    /// Sets the credential for `scheme`, replacing any earlier one.
    pub fn set(&mut self, scheme: &'static str, credential: Credential) {
        self.credentials.retain(|(name, _)| *name != scheme);
        self.credentials.push((scheme, credential));
    }

    /// Adds the credentials of the given schemes to a request.
    pub fn apply(&self, mut request: RequestBuilder, schemes: &[&str]) -> RequestBuilder {
        for (scheme, credential) in &self.credentials {
            if !schemes.contains(scheme) {
                continue;
            }
            request = match credential {
                Credential::Basic { username, password } => {
                    request.basic_auth(username.expose(), Some(password.expose()))
                }
                Credential::Bearer(token) => request.bearer_auth(token.expose()),
                Credential::Header { name, value } => match HeaderValue::from_str(value.expose()) {
                    Ok(mut header) => {
                        header.set_sensitive(true);
                        request.header(*name, header)
                    }
                    // Not a valid header value: sending it under another
                    // form would leak it into an error, so send nothing.
                    Err(_) => request,
                },
                Credential::Query { name, value } => request.query(&[(*name, value.expose())]),
            };
        }
        request
    }
}
