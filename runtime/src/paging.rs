//! Paging, declared once per list operation (`x-pagination` in a provider
//! spec) and walked the same way for every provider: where the next page
//! starts, how big it is, and when the list has ended.
//!
//! A [`Position`] is everything needed to continue, independent of the
//! page size: a record offset, a provider token, or the id of the last
//! record seen. Page-numbered APIs are asked for the page that starts
//! exactly at the offset, so changing the page size between pages neither
//! skips nor repeats records.

use http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a provider's list pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// An offset and a limit (`_skip`/`_limit`, `skip`/`top`).
    Offset,
    /// A page number and a page size.
    Page,
    /// Page numbers, and the next page announced in a `Link: rel="next"`
    /// header (its absence ends the list). The link itself is never
    /// followed: the page number is computed like [`Style::Page`].
    LinkHeader,
    /// An opaque token from the previous response.
    Cursor,
    /// Records ordered by id; the next page starts after the last id seen.
    /// The glue puts the id into the provider's query.
    Keyset,
}

/// A list operation's paging, as its spec declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pagination {
    pub style: Style,
    /// The provider's largest page.
    pub max_limit: u32,
    /// The first page number, for page-numbered styles.
    pub first_page: u64,
    /// JSON pointer to the array of records in the response body.
    pub records: &'static str,
    /// JSON pointer to the record inside each array item, if wrapped.
    pub record: Option<&'static str>,
    /// JSON pointer to a "more pages" signal: a boolean, or a next page's
    /// link that is absent or `null` on the last page.
    pub has_more: Option<&'static str>,
    /// A header holding the total number of records.
    pub total_header: Option<&'static str>,
    /// JSON pointer to the next page's token ([`Style::Cursor`]).
    pub next_cursor: Option<&'static str>,
}

/// Where the next page starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// Records already seen.
    Offset(u64),
    /// The provider's token for the next page.
    Token(String),
    /// The id of the last record seen.
    After(String),
}

/// What one request asks for, in the provider's terms. The generated
/// list input sets its parameters from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageAt<'a> {
    pub size: u64,
    pub offset: u64,
    /// For page-numbered styles: the page that starts at `offset`.
    pub page: u64,
    pub token: Option<&'a str>,
    pub after: Option<&'a str>,
}

/// Implemented by generated list inputs (query parameter structs or
/// search bodies): writes the page size and position into them.
pub trait PageRequest {
    fn set_page(&mut self, at: &PageAt<'_>);
}

/// What a page showed about the list, read from its response.
#[derive(Clone, Copy, Debug)]
pub struct PageSeen<'a> {
    pub body: &'a Value,
    pub headers: &'a HeaderMap,
    /// Records in the page.
    pub records: usize,
    /// The id of its last record.
    pub last_id: Option<&'a str>,
}

impl Pagination {
    /// The page size for a caller's `limit`: at most the provider's.
    pub fn limit(&self, asked: Option<u32>) -> u32 {
        asked
            .unwrap_or(self.max_limit)
            .clamp(1, self.max_limit.max(1))
    }

    /// Whether `position` is one this paging makes: an offset for offset
    /// and page styles, a token for cursors, an id for keysets. Anything
    /// else came from another list and must not be sent.
    pub fn accepts(&self, position: &Position) -> bool {
        matches!(
            (self.style, position),
            (
                Style::Offset | Style::Page | Style::LinkHeader,
                Position::Offset(_)
            ) | (Style::Cursor, Position::Token(_))
                | (Style::Keyset, Position::After(_))
        )
    }

    /// The request for the page at `position` (`None`: the first).
    pub fn page_at<'a>(&self, position: Option<&'a Position>, limit: u32) -> PageAt<'a> {
        let offset = match position {
            Some(Position::Offset(offset)) => *offset,
            _ => 0,
        };
        let mut size = u64::from(limit.max(1));
        if matches!(self.style, Style::Page | Style::LinkHeader) && offset > 0 {
            // The largest size up to `limit` whose pages start at `offset`:
            // page (offset / size) + first holds exactly the next records.
            size = (1..=size)
                .rev()
                .find(|size| offset % size == 0)
                .unwrap_or(1);
        }
        PageAt {
            size,
            offset,
            page: self.first_page.saturating_add(offset / size),
            token: match position {
                Some(Position::Token(token)) => Some(token),
                _ => None,
            },
            after: match position {
                Some(Position::After(id)) => Some(id),
                _ => None,
            },
        }
    }

    /// The records of a page body, each unwrapped; `None` when the body
    /// has no array where the spec says.
    pub fn records<'a>(&self, body: &'a Value) -> Option<Vec<&'a Value>> {
        let items = body.pointer(self.records)?.as_array()?;
        Some(
            items
                .iter()
                .map(|item| match self.record {
                    Some(pointer) => item.pointer(pointer).unwrap_or(&Value::Null),
                    None => item,
                })
                .collect(),
        )
    }

    /// Where the page after this one starts, or `None` when the list has
    /// ended. An empty page always ends it, whatever it claims.
    pub fn next(&self, at: &PageAt<'_>, seen: &PageSeen<'_>) -> Option<Position> {
        if seen.records == 0 {
            return None;
        }
        if let Some(pointer) = self.has_more {
            // `true`, or anything present but `false` and `null` (a next
            // page's link): more follow.
            let more = match seen.body.pointer(pointer) {
                None | Some(Value::Null) | Some(Value::Bool(false)) => false,
                Some(Value::String(text)) => !text.is_empty(),
                Some(_) => true,
            };
            if !more {
                return None;
            }
        }
        let offset = at.offset.saturating_add(seen.records as u64);
        if let Some(header) = self.total_header {
            let total = seen
                .headers
                .get(header)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok());
            if total.is_some_and(|total| offset >= total) {
                return None;
            }
        }
        let short = (seen.records as u64) < at.size;
        match self.style {
            Style::Offset if short && self.has_more.is_none() => None,
            Style::Offset => Some(Position::Offset(offset)),
            Style::Page if short => None,
            Style::Page => Some(Position::Offset(offset)),
            Style::LinkHeader if !has_next_link(seen.headers) => None,
            Style::LinkHeader => Some(Position::Offset(offset)),
            Style::Cursor => {
                let token = self
                    .next_cursor
                    .and_then(|pointer| seen.body.pointer(pointer))
                    .and_then(|token| match token {
                        Value::String(text) => Some(text.clone()),
                        Value::Number(number) => Some(number.to_string()),
                        _ => None,
                    })
                    .filter(|token| !token.is_empty())?;
                // A provider that hands back the token it was given would
                // loop forever.
                (Some(token.as_str()) != at.token).then_some(Position::Token(token))
            }
            Style::Keyset if short => None,
            Style::Keyset => {
                let last = seen.last_id?;
                (Some(last) != at.after).then(|| Position::After(last.to_owned()))
            }
        }
    }
}

/// Whether a `Link` header announces a next page.
pub fn has_next_link(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|link| {
            link.split(';').skip(1).any(|param| {
                let param = param.trim().to_ascii_lowercase();
                param == "rel=\"next\"" || param == "rel=next"
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const OFFSET: Pagination = Pagination {
        style: Style::Offset,
        max_limit: 100,
        first_page: 0,
        records: "/data",
        record: None,
        has_more: Some("/has_more"),
        total_header: None,
        next_cursor: None,
    };

    const PAGE: Pagination = Pagination {
        style: Style::Page,
        max_limit: 200,
        first_page: 1,
        records: "",
        record: None,
        has_more: None,
        total_header: Some("x-pw-total"),
        next_cursor: None,
    };

    fn seen<'a>(body: &'a Value, headers: &'a HeaderMap, records: usize) -> PageSeen<'a> {
        PageSeen {
            body,
            headers,
            records,
            last_id: None,
        }
    }

    #[test]
    fn an_empty_page_ends_the_list_whatever_it_claims() {
        let body = json!({"data": [], "has_more": true});
        let headers = HeaderMap::new();
        let at = OFFSET.page_at(None, 10);
        assert_eq!(OFFSET.next(&at, &seen(&body, &headers, 0)), None);
    }

    #[test]
    fn offsets_count_records_seen() {
        let body = json!({"data": [1, 2], "has_more": true});
        let headers = HeaderMap::new();
        let at = OFFSET.page_at(Some(&Position::Offset(10)), 2);
        assert_eq!(
            OFFSET.next(&at, &seen(&body, &headers, 2)),
            Some(Position::Offset(12))
        );
    }

    #[test]
    fn page_numbers_follow_the_offset_when_the_size_changes() {
        // Ten records seen at size 10; the caller now asks for 50: page
        // 2 of size 10 starts exactly at record 10.
        let at = PAGE.page_at(Some(&Position::Offset(10)), 50);
        assert_eq!((at.page, at.size), (2, 10));
        let at = PAGE.page_at(Some(&Position::Offset(100)), 50);
        assert_eq!((at.page, at.size), (3, 50));
        let at = PAGE.page_at(Some(&Position::Offset(7)), 50);
        assert_eq!((at.page, at.size), (2, 7));
    }

    #[test]
    fn a_short_page_or_the_total_ends_page_numbers() {
        let body = json!([1, 2, 3]);
        let mut headers = HeaderMap::new();
        let at = PAGE.page_at(None, 5);
        assert_eq!(PAGE.next(&at, &seen(&body, &headers, 3)), None);
        headers.insert("x-pw-total", "10".parse().unwrap());
        let at = PAGE.page_at(Some(&Position::Offset(7)), 3);
        assert_eq!(PAGE.next(&at, &seen(&body, &headers, 3)), None);
        let at = PAGE.page_at(Some(&Position::Offset(3)), 3);
        assert_eq!(
            PAGE.next(&at, &seen(&body, &headers, 3)),
            Some(Position::Offset(6))
        );
    }

    #[test]
    fn link_headers_announce_the_next_page() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::LINK,
            "<https://api.capsulecrm.com/api/v2/opportunities?page=2>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert!(has_next_link(&headers));
        headers.insert(
            http::header::LINK,
            "<https://x/?page=1>; rel=\"prev\"".parse().unwrap(),
        );
        assert!(!has_next_link(&headers));
    }

    #[test]
    fn a_position_of_another_paging_style_is_not_accepted() {
        let cursor = Pagination {
            style: Style::Cursor,
            ..OFFSET
        };
        let offset = Position::Offset(3);
        let token = Position::Token("abc".into());
        assert!(OFFSET.accepts(&offset) && PAGE.accepts(&offset));
        assert!(!OFFSET.accepts(&token) && !PAGE.accepts(&token));
        assert!(cursor.accepts(&token) && !cursor.accepts(&offset));
        assert!(!cursor.accepts(&Position::After("1".into())));
    }

    #[test]
    fn cursors_end_when_absent_or_repeated() {
        let cursor = Pagination {
            style: Style::Cursor,
            next_cursor: Some("/paging/next/after"),
            ..OFFSET
        };
        let cursor = Pagination {
            has_more: None,
            ..cursor
        };
        let headers = HeaderMap::new();
        let at = cursor.page_at(None, 2);
        let body = json!({"paging": {"next": {"after": "abc"}}});
        assert_eq!(
            cursor.next(&at, &seen(&body, &headers, 2)),
            Some(Position::Token("abc".into()))
        );
        let token = Position::Token("abc".into());
        let at = cursor.page_at(Some(&token), 2);
        assert_eq!(cursor.next(&at, &seen(&body, &headers, 2)), None);
        let body = json!({"results": []});
        assert_eq!(cursor.next(&at, &seen(&body, &headers, 2)), None);
    }

    #[test]
    fn wrapped_records_are_unwrapped() {
        let zendesk = Pagination {
            records: "/items",
            record: Some("/data"),
            ..OFFSET
        };
        let body = json!({"items": [{"data": {"id": 1}, "meta": {}}]});
        assert_eq!(zendesk.records(&body), Some(vec![&json!({"id": 1})]));
    }
}
