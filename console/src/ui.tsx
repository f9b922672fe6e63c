// Shared building blocks: every view shows loading, empty and error states the same way.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { messageOf } from './api';

export type Async<T> =
  | { state: 'loading'; data?: T }
  | { state: 'ready'; data: T }
  | { state: 'error'; error: string; data?: T };

/** Runs `load` whenever `deps` change; a newer run wins over an older one that answers late. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]) {
  const [result, setResult] = useState<Async<T>>({ state: 'loading' });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setResult((previous) => ({ state: 'loading', data: previous.data }));
    load(controller.signal).then(
      (data) => !controller.signal.aborted && setResult({ state: 'ready', data }),
      (error) => !controller.signal.aborted && setResult({ state: 'error', error: messageOf(error) }),
    );
    return () => controller.abort();
  }, [...deps, generation]);
  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { ...result, reload };
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="state loading" role="status">
      Loading {what}…
    </p>
  );
}

export function ErrorMessage({ message, retry }: { message: string; retry?: () => void }) {
  return (
    <div class="state error" role="alert">
      <p>{message}</p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="state empty">{children}</p>;
}

/** The standard wrapper: loading, error (with retry) or empty, else the content. */
export function AsyncView<T>({
  result,
  what,
  isEmpty,
  empty,
  children,
}: {
  result: Async<T> & { reload: () => void };
  what: string;
  isEmpty?: (data: T) => boolean;
  empty?: ComponentChildren;
  children: (data: T) => ComponentChildren;
}) {
  if (result.state === 'error') return <ErrorMessage message={result.error} retry={result.reload} />;
  if (result.state === 'loading' && result.data === undefined) return <Loading what={what} />;
  const data = result.data as T;
  if (isEmpty?.(data)) return <Empty>{empty ?? `No ${what} yet.`}</Empty>;
  return <>{children(data)}</>;
}

/** A page's heading takes focus after navigation, so screen readers announce the new page. */
export function PageTitle({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}

export function Notice({ kind, children }: { kind: 'ok' | 'error'; children: ComponentChildren }) {
  return (
    <div class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export const formatTime = (value: string | number | undefined): string => {
  if (value === undefined || value === '') return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
};

export const formatNumber = (value: number | undefined): string =>
  value === undefined || Number.isNaN(value) ? '—' : value.toLocaleString();

export const formatBytes = (bytes: number | undefined): string => {
  if (bytes === undefined) return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
};

/** The pages walked through a cursor-paged list: the current cursor, forward and back. */
export function useCursorPages() {
  const [cursors, setCursors] = useState<string[]>(['']);
  return {
    cursor: cursors[cursors.length - 1] || undefined,
    canGoBack: cursors.length > 1,
    back: () => setCursors((list) => list.slice(0, -1)),
    forward: (next: string) => setCursors((list) => [...list, next]),
    reset: () => setCursors(['']),
  };
}

export function CursorPager({
  pages,
  next,
  labels = ['Previous page', 'Next page'],
}: {
  pages: ReturnType<typeof useCursorPages>;
  next: string | undefined;
  labels?: [string, string];
}) {
  return (
    <div class="pager">
      <button type="button" disabled={!pages.canGoBack} onClick={pages.back}>
        {labels[0]}
      </button>
      <button type="button" disabled={!next} onClick={() => next && pages.forward(next)}>
        {labels[1]}
      </button>
    </div>
  );
}

/** A table that scrolls inside its box on narrow screens, with a caption for screen readers. */
export function DataTable({
  caption,
  columns,
  className,
  children,
}: {
  caption: string;
  columns: string[];
  className?: string;
  children: ComponentChildren;
}) {
  return (
    <div class="table-wrap">
      <table class={className}>
        <caption class="sr-only">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** A labelled input whose value lives in the caller's state. */
export function Field({
  id,
  label,
  value,
  onValue,
  type = 'text',
  required,
  min,
  max,
  maxLength,
  autoComplete,
}: {
  id: string;
  label: string;
  value: string;
  onValue: (value: string) => void;
  type?: 'text' | 'number' | 'password' | 'search';
  required?: boolean;
  min?: number;
  max?: number;
  maxLength?: number;
  autoComplete?: string;
}) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        // Preact's input types tie each attribute to a single `type`; this input takes several.
        type={type as 'text'}
        value={value}
        required={required}
        min={min}
        max={max}
        maxLength={maxLength}
        autoComplete={autoComplete}
        inputMode={type === 'number' ? 'numeric' : undefined}
        onInput={(event) => onValue(event.currentTarget.value)}
      />
    </div>
  );
}
