import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './dynamo';

type Item = Record<string, unknown>;

export interface QueryPage {
  items: Item[];
  /** Where the next page starts; undefined after the last page. */
  lastKey?: Item;
}

/**
 * The pages of a Query, each ≤ 1 MB (DynamoDB's page limit) and ≤ input.Limit items, followed through
 * LastEvaluatedKey until the end or until the caller stops iterating.
 */
export async function* queryPages(input: QueryCommandInput): AsyncGenerator<QueryPage> {
  let exclusiveStart = input.ExclusiveStartKey;
  do {
    const { Items = [], LastEvaluatedKey } = await dynamo.send(
      new QueryCommand({ ...input, ExclusiveStartKey: exclusiveStart }),
    );
    exclusiveStart = LastEvaluatedKey;
    yield { items: Items, lastKey: LastEvaluatedKey };
  } while (exclusiveStart);
}

/** Every item a Query matches (for bounded partitions: the caller knows its size is small). */
export async function queryAll(input: QueryCommandInput): Promise<Item[]> {
  const items: Item[] = [];
  for await (const page of queryPages(input)) items.push(...page.items);
  return items;
}
