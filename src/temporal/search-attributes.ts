// Search attributes every run carries (SPEC §4), so the Web UI and `runs list` can filter by cluster,
// operation, target version, services, state and operator. Imported by workflows (upserts), the client (start
// options), temporal-dev (registration on the dev server) and doctor (registration check): names are defined once.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const FwCluster = defineSearchAttributeKey('FwCluster', SearchAttributeType.KEYWORD);
export const FwOperation = defineSearchAttributeKey('FwOperation', SearchAttributeType.KEYWORD);
export const FwTargetVersion = defineSearchAttributeKey('FwTargetVersion', SearchAttributeType.KEYWORD);
export const FwServices = defineSearchAttributeKey('FwServices', SearchAttributeType.KEYWORD_LIST);
export const FwState = defineSearchAttributeKey('FwState', SearchAttributeType.KEYWORD);
export const FwOperator = defineSearchAttributeKey('FwOperator', SearchAttributeType.KEYWORD);

/** Name → type as the `temporal` CLI spells it (`--search-attribute Name=Type`). */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'KeywordList'> = {
  FwCluster: 'Keyword',
  FwOperation: 'Keyword',
  FwTargetVersion: 'Keyword',
  FwServices: 'KeywordList',
  FwState: 'Keyword',
  FwOperator: 'Keyword',
};
