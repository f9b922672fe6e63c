import { useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf, type Page, requestBlobUrl } from '../api';
import { navigate } from '../router';
import type { Session } from '../session';
import { keyFromFileName } from '../text';
import {
  AsyncView,
  CursorPager,
  Empty,
  Field,
  formatBytes,
  formatTime,
  Notice,
  PageTitle,
  useAsync,
  useCursorPages,
} from '../ui';

interface ImageSummary {
  key: string;
  status?: 'pending' | 'ready' | 'rejected';
  updatedAt?: string;
  label?: string;
  confidence?: number;
}

interface ImageDetails {
  key: string;
  owner: string;
  status: 'pending' | 'ready' | 'rejected';
  rejection?: { code: string; message: string };
  format?: string;
  contentType?: string;
  width?: number;
  height?: number;
  bytes?: number;
  capturedAt?: string;
  dominantColour?: string;
  labels: Array<{ name: string; confidence: number }>;
  labeller?: string;
  thumbnails: Array<{ size: number; width: number; height: number; format: string; bytes: number }>;
  createdAt: string;
  updatedAt: string;
  processedAt?: string;
}

interface UploadTicket {
  key: string;
  uploadUrl: string;
  headers: Record<string, string>;
  maxBytes: number;
}

const ACCEPTED = ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/tiff', 'image/avif'];

export const imageHref = (key: string) => `/images/${encodeURIComponent(key)}`;
export const contentPath = (key: string, size: number | 'original') =>
  `/api/images/${encodeURIComponent(key)}/content?size=${size}`;

/** Image bytes fetched with the session's token (an <img src> cannot send it) and shown from a blob: URL. */
function AuthImage({
  session,
  path,
  alt,
  lazy = true,
}: {
  session: Session;
  path: string;
  alt: string;
  lazy?: boolean;
}) {
  const holder = useRef<HTMLDivElement>(null);
  const [visible, setVisible] = useState(!lazy);
  const [source, setSource] = useState<string>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (visible || !holder.current) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) setVisible(true);
      },
      { rootMargin: '200px' },
    );
    observer.observe(holder.current);
    return () => observer.disconnect();
  }, [visible]);
  useEffect(() => {
    if (!visible) return;
    const controller = new AbortController();
    let url: string | undefined;
    requestBlobUrl(session.token, path, controller.signal).then(
      (created) => {
        url = created;
        setSource(created);
      },
      (failure) => !controller.signal.aborted && setError(messageOf(failure)),
    );
    return () => {
      controller.abort();
      if (url) URL.revokeObjectURL(url);
    };
  }, [visible, path, session.token]);
  return (
    <div class="image-holder" ref={holder}>
      {source ? <img src={source} alt={alt} /> : <span class="muted">{error ?? 'Loading…'}</span>}
    </div>
  );
}

interface UploadState {
  name: string;
  progress: number;
  status: 'uploading' | 'done' | 'failed';
  message?: string;
  key?: string;
}

function putWithProgress(
  ticket: UploadTicket,
  file: File,
  onProgress: (fraction: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', ticket.uploadUrl);
    for (const [name, value] of Object.entries(ticket.headers))
      if (name.toLowerCase() !== 'content-length') xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded / event.total);
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300
        ? resolve()
        : reject(new Error(`The storage answered ${xhr.status}.`));
    xhr.onerror = () => reject(new Error('The upload failed: the storage could not be reached.'));
    xhr.send(file);
  });
}

function Uploader({ session, onUploaded }: { session: Session; onUploaded: () => void }) {
  const [uploads, setUploads] = useState<UploadState[]>([]);
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const update = (index: number, change: Partial<UploadState>) =>
    setUploads((list) => list.map((item, position) => (position === index ? { ...item, ...change } : item)));
  const upload = async (files: File[]) => {
    const offset = uploads.length;
    setUploads((list) => [
      ...list,
      ...files.map((file) => ({ name: file.name, progress: 0, status: 'uploading' as const })),
    ]);
    // One file at a time: each gets the whole connection (its bar moves steadily), and a batch does not
    // fan out into as many cold starts.
    for (const [index, file] of files.entries()) {
      const position = offset + index;
      try {
        if (!ACCEPTED.includes(file.type))
          throw new Error(
            `${file.type || 'This file type'} is not an accepted image type (JPEG, PNG, WebP, GIF, TIFF, AVIF).`,
          );
        const ticket = await api(session).post<UploadTicket>('/api/images', {
          key: keyFromFileName(file.name),
          contentType: file.type,
          contentLength: file.size,
        });
        update(position, { key: ticket.key });
        if (file.size > ticket.maxBytes) throw new Error(`Larger than ${formatBytes(ticket.maxBytes)}.`);
        await putWithProgress(ticket, file, (fraction) => update(position, { progress: fraction }));
        update(position, { progress: 1, status: 'done' });
      } catch (failure) {
        update(position, { status: 'failed', message: messageOf(failure) });
      }
    }
    onUploaded();
  };
  return (
    <section class="card" aria-labelledby="upload-title">
      <h2 id="upload-title">Upload images</h2>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: a drop zone; the button inside is the keyboard path */}
      <div
        class={`dropzone${dragging ? ' dragging' : ''}`}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(event) => {
          event.preventDefault();
          setDragging(false);
          const files = [...(event.dataTransfer?.files ?? [])];
          if (files.length) void upload(files);
        }}
      >
        <p>Drop image files here, or</p>
        <label class="button" for="upload-input">
          Choose files
        </label>
        <input
          id="upload-input"
          ref={input}
          class="visually-hidden-input"
          type="file"
          multiple
          accept={ACCEPTED.join(',')}
          onChange={(event) => {
            const files = [...(event.currentTarget.files ?? [])];
            event.currentTarget.value = '';
            if (files.length) void upload(files);
          }}
        />
      </div>
      {uploads.length > 0 && (
        <ul class="uploads" aria-label="Uploads">
          {uploads.map((item, index) => (
            <li key={index}>
              <span class="name">{item.name}</span>
              <progress max={1} value={item.progress} aria-label={`Upload of ${item.name}`} />
              <span class={`upload-status ${item.status}`}>
                {item.status === 'uploading'
                  ? `${Math.round(item.progress * 100)} %`
                  : item.status === 'done'
                    ? 'uploaded'
                    : item.message}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function ImagesPage({ session }: { session: Session }) {
  const params = new URLSearchParams(location.search);
  const label = params.get('label') ?? '';
  const [search, setSearch] = useState(label);
  const pages = useCursorPages();
  const [version, setVersion] = useState(0);
  const result = useAsync(
    (signal) =>
      api(session).get<Page<ImageSummary>>(
        '/api/images',
        { limit: 24, cursor: pages.cursor, label: label || undefined },
        signal,
      ),
    [session, label, pages.cursor, version],
  );
  // New uploads are processed within seconds: refresh while something is pending.
  const pending = result.data?.data.some((image) => image.status === 'pending');
  useEffect(() => {
    if (!pending) return;
    const timer = setTimeout(() => setVersion((value) => value + 1), 1500);
    return () => clearTimeout(timer);
  }, [pending, result.data]);
  return (
    <>
      <PageTitle>Images</PageTitle>
      <Uploader
        session={session}
        onUploaded={() => {
          pages.reset();
          setVersion((value) => value + 1);
        }}
      />
      <section class="card" aria-labelledby="gallery-title">
        <h2 id="gallery-title">{label ? `Images labelled “${label}”` : 'Gallery'}</h2>
        <form
          class="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            pages.reset();
            navigate(search.trim() ? `/images?label=${encodeURIComponent(search.trim())}` : '/images');
          }}
        >
          <Field id="label-search" label="Search by label" type="search" value={search} onValue={setSearch} />
          <button type="submit">Search</button>
          {label && (
            <a class="button secondary" href="/images">
              Show all
            </a>
          )}
        </form>
        <AsyncView
          result={result}
          what="images"
          isEmpty={(page) => page.data.length === 0}
          empty={label ? `No image is labelled “${label}”.` : 'No images yet: upload some above.'}
        >
          {(page) => (
            <>
              <ul class="gallery">
                {page.data.map((image) => (
                  <li key={image.key}>
                    <a href={imageHref(image.key)}>
                      {image.status === undefined || image.status === 'ready' ? (
                        <AuthImage session={session} path={contentPath(image.key, 128)} alt="" />
                      ) : (
                        <div class="image-holder">
                          <span class={`badge ${image.status}`}>
                            {image.status === 'pending' ? 'processing…' : 'rejected'}
                          </span>
                        </div>
                      )}
                      <span class="caption">{image.key}</span>
                    </a>
                    {image.label && (
                      <span class="muted">
                        {image.label} ({Math.round(image.confidence ?? 0)} %)
                      </span>
                    )}
                  </li>
                ))}
              </ul>
              <CursorPager pages={pages} next={page.next} />
            </>
          )}
        </AsyncView>
      </section>
    </>
  );
}

export function ImagePage({ session, imageKey }: { session: Session; imageKey: string }) {
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string>();
  const [showOriginal, setShowOriginal] = useState(false);
  const result = useAsync(
    (signal) =>
      api(session).get<ImageDetails>(`/api/images/${encodeURIComponent(imageKey)}`, undefined, signal),
    [session, imageKey, version],
  );
  useEffect(() => {
    if (result.data?.status !== 'pending') return;
    const timer = setTimeout(() => setVersion((value) => value + 1), 1500);
    return () => clearTimeout(timer);
  }, [result.data]);
  const remove = async () => {
    if (!window.confirm(`Delete the image ${imageKey}, its thumbnails and labels?`)) return;
    try {
      await api(session).delete(`/api/images/${encodeURIComponent(imageKey)}`);
      navigate('/images');
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <>
      <p class="crumbs">
        <a href="/images">Images</a> /
      </p>
      <PageTitle>
        Image <span class="mono">{imageKey}</span>
      </PageTitle>
      {error && <Notice kind="error">{error}</Notice>}
      <AsyncView result={result} what="the image">
        {(image) => (
          <div class="detail">
            <section class="card" aria-labelledby="preview-title">
              <h2 id="preview-title">Preview</h2>
              {image.status === 'ready' ? (
                <AuthImage
                  session={session}
                  path={contentPath(image.key, 512)}
                  alt={`Image ${image.key}`}
                  lazy={false}
                />
              ) : image.status === 'pending' ? (
                <Empty>Being processed…</Empty>
              ) : (
                <Notice kind="error">
                  Rejected: {image.rejection?.message ?? 'not a usable image'} ({image.rejection?.code})
                </Notice>
              )}
              {image.status === 'ready' && (
                <div>
                  <button
                    type="button"
                    class="secondary"
                    onClick={() => setShowOriginal(!showOriginal)}
                    aria-expanded={showOriginal}
                  >
                    {showOriginal ? 'Hide the original' : 'Show the original'}
                  </button>
                  {showOriginal && (
                    <AuthImage
                      session={session}
                      path={contentPath(image.key, 'original')}
                      alt={`Original of ${image.key}`}
                      lazy={false}
                    />
                  )}
                </div>
              )}
            </section>
            <section class="card" aria-labelledby="meta-title">
              <h2 id="meta-title">Details</h2>
              <dl class="facts">
                <dt>Status</dt>
                <dd>
                  <span class={`badge ${image.status}`}>{image.status}</span>
                </dd>
                <dt>Size</dt>
                <dd>
                  {image.width && image.height
                    ? `${image.width} × ${image.height} px, ${formatBytes(image.bytes)}`
                    : formatBytes(image.bytes)}
                </dd>
                <dt>Format</dt>
                <dd>{image.format ?? '—'}</dd>
                <dt>Captured</dt>
                <dd>{formatTime(image.capturedAt)}</dd>
                <dt>Dominant colour</dt>
                <dd>{image.dominantColour ?? '—'}</dd>
                <dt>Owner</dt>
                <dd class="mono">{image.owner}</dd>
                <dt>Uploaded</dt>
                <dd>{formatTime(image.createdAt)}</dd>
                <dt>Processed</dt>
                <dd>{formatTime(image.processedAt)}</dd>
              </dl>
              <h3>Labels</h3>
              {image.labels.length === 0 ? (
                <p class="muted">No labels.</p>
              ) : (
                <ul class="labels">
                  {image.labels.map((label) => (
                    <li key={label.name}>
                      <a href={`/images?label=${encodeURIComponent(label.name)}`}>{label.name}</a>{' '}
                      <span class="muted">{Math.round(label.confidence)} %</span>
                    </li>
                  ))}
                </ul>
              )}
              <h3>Sizes</h3>
              {image.thumbnails.length === 0 ? (
                <p class="muted">No thumbnails.</p>
              ) : (
                <ul>
                  {image.thumbnails.map((thumbnail) => (
                    <li key={`${thumbnail.size}-${thumbnail.format}`}>
                      {thumbnail.size} px {thumbnail.format}: {thumbnail.width} × {thumbnail.height},{' '}
                      {formatBytes(thumbnail.bytes)}
                    </li>
                  ))}
                </ul>
              )}
              <button type="button" class="danger" onClick={remove}>
                Delete image
              </button>
            </section>
          </div>
        )}
      </AsyncView>
    </>
  );
}
