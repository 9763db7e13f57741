// The population-level reports, read from the segment index's counters
// (projections/segment_index.h): SegmentSummary (customers, revenue and
// margin per segment of a dimension, with shares, and lifecycle transitions
// per period) and SatisfactionReport (CSI, NPS, CSAT, complaint rate and
// resolution time by month, overall or split).
//
// Operation: every figure is a sum the projector keeps up to date with
// merges, so a report reads a bounded number of counter rows — one per
// segment, or per month and group — never the customers. Periods are whole
// calendar months (UTC), at most kMaxReportMonths.
//
// Concurrency: stateless; thread-safe.
#ifndef KEHU_QUERY_SEGMENT_REPORTS_H_
#define KEHU_QUERY_SEGMENT_REPORTS_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "infra/projection_store.h"
#include "kehu/query/v1/query.pb.h"
#include "query/customer_analytics.h"

namespace kehu::query {

// Longest period of a report.
inline constexpr int kMaxReportMonths = 120;
// Most segments a summary returns (regions are open-ended).
inline constexpr int kMaxSegments = 10000;

absl::Status SummarizeSegments(const infra::ProjectionStore& store,
                               absl::Time now,
                               const query::v1::SegmentSummaryRequest& request,
                               query::v1::SegmentSummaryResponse* response);

absl::Status ReportSatisfaction(
    const infra::ProjectionStore& store, absl::Time now,
    const AnalyticsConfig& config,
    const query::v1::SatisfactionReportRequest& request,
    query::v1::SatisfactionReportResponse* response);

}  // namespace kehu::query

#endif  // KEHU_QUERY_SEGMENT_REPORTS_H_
