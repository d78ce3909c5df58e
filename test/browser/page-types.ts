/**
 * The few browser APIs the tests touch inside page.evaluate(), typed structurally: the root tsconfig has
 * no DOM lib (it is for Node code), and these callbacks run in the page, not in Node.
 * Use as `const { document } = globalThis as unknown as PageGlobals;` inside the callback.
 */
import type { TurnTimings } from './browser.ts';

export interface PageElement {
  id: string;
  className: string;
  tagName: string;
  textContent: string | null;
  hidden: boolean;
  dataset: Record<string, string | undefined>;
  classList: { contains(name: string): boolean };
  checkVisibility(): boolean;
  getBoundingClientRect(): { width: number; height: number };
}

export interface PageAudio extends PageElement {
  src: string;
  currentSrc: string;
  paused: boolean;
  readyState: number;
  duration: number;
}

export interface PageDocument {
  getElementById(id: string): PageElement | null;
  querySelectorAll(selectors: string): ArrayLike<PageElement>;
  documentElement: { scrollWidth: number };
  addEventListener(
    type: 'securitypolicyviolation',
    listener: (e: { violatedDirective: string; blockedURI: string }) => void,
  ): void;
  addEventListener(type: 'click', listener: (e: { target: unknown }) => void, capture?: boolean): void;
}

export interface PageGlobals {
  document: PageDocument;
  sessionStorage: { getItem(key: string): string | null };
  MutationObserver: new (
    callback: (records: { target: unknown }[]) => void,
  ) => { observe(target: unknown, options: object): void };
  __voicebotTimings: TurnTimings[];
  __stageLog: string[];
}
