// The Topology panel: Kiali's versioned-app graph in Cytoscape. Clusters are compound nodes holding their
// workloads, gateways and services (a service per cluster its requests went to); MultiClusterIngresses
// span clusters and sit outside. An update with
// the same nodes and edges only changes data (labels, colours), so the layout does not move under the
// reader; fcose lays out again only when an element is added or removed.
import cytoscape from 'cytoscape';
import fcose from 'cytoscape-fcose';
import type { DashboardState } from '../../../src/dashboard/model.js';
import { graphElements, structureKey, type GraphEdge, type GraphElements, type GraphNode } from '../../../src/dashboard/view.js';
import { formatMs, formatPercent, formatRate } from '../../../src/dashboard/view.js';
import { empty, h, reconcile, replaceContent } from './dom.js';

cytoscape.use(fcose);

const HEALTH_COLOURS = {
  healthy: '#2e8540',
  degraded: '#d97706',
  failing: '#c62828',
  idle: '#9aa0a6',
  unknown: '#9aa0a6',
} as const;

const STYLE: cytoscape.StylesheetJson = [
  {
    selector: 'node',
    style: {
      label: 'data(label)',
      'text-wrap': 'wrap',
      'text-valign': 'bottom',
      'text-margin-y': 4,
      'font-size': 13,
      'font-family': 'system-ui, sans-serif',
      color: '#1f2933',
      'background-color': '#ffffff',
      'border-width': 3,
      'border-color': '#9aa0a6',
      width: 38,
      height: 38,
    },
  },
  { selector: 'node[kind = "workload"]', style: { shape: 'round-rectangle' } },
  { selector: 'node[kind = "service"]', style: { shape: 'round-triangle', 'background-color': '#eef4fb' } },
  { selector: 'node[kind = "gateway"]', style: { shape: 'round-hexagon', 'background-color': '#f3eefb' } },
  { selector: 'node[kind = "mci"]', style: { shape: 'round-octagon', 'background-color': '#fff7e6', width: 44, height: 44 } },
  { selector: 'node[kind = "unknown"]', style: { shape: 'ellipse', 'border-style': 'dashed' } },
  {
    selector: 'node[kind = "cluster"]',
    style: {
      shape: 'round-rectangle',
      'background-color': '#f6f8fa',
      'background-opacity': 1,
      'border-width': 2,
      'border-style': 'dashed',
      'text-valign': 'top',
      'text-halign': 'center',
      'text-margin-y': -6,
      'font-size': 15,
      'font-weight': 'bold',
      padding: '26px',
    },
  },
  ...(Object.entries(HEALTH_COLOURS).map(([health, colour]) => ({
    selector: `[health = "${health}"]`,
    style: { 'border-color': colour, 'line-color': colour, 'target-arrow-color': colour },
  })) as cytoscape.StylesheetJson),
  { selector: 'node[kind = "cluster"][health = "healthy"]', style: { 'border-color': '#8aa4bf' } },
  {
    selector: 'edge',
    style: {
      label: 'data(label)',
      'curve-style': 'bezier',
      'target-arrow-shape': 'triangle',
      width: 'mapData(rps, 0, 50, 1.5, 5)',
      'font-size': 11,
      'font-family': 'system-ui, sans-serif',
      color: '#1f2933',
      'text-background-color': '#ffffff',
      'text-background-opacity': 0.9,
      'text-background-padding': '2px',
      // Along the edge: labels of edges that leave one node side by side overlap less.
      'text-rotation': 'autorotate',
    },
  },
  { selector: 'edge[?crossCluster]', style: { 'line-style': 'dashed', 'line-dash-pattern': [7, 4] } },
];

export class TopologyPanel {
  readonly cy: cytoscape.Core;
  private structure: string | undefined;
  private layoutRuns = 0;

  constructor(
    container: HTMLElement,
    private readonly edgeRows: HTMLElement,
  ) {
    this.cy = cytoscape({ container, style: STYLE, minZoom: 0.2, maxZoom: 3, boxSelectionEnabled: false });
  }

  /** How many times the layout ran: an update that only changes rates must not add one. */
  get layouts(): number {
    return this.layoutRuns;
  }

  update(state: DashboardState): void {
    const elements = graphElements(state);
    const key = structureKey(elements);
    if (key === this.structure) {
      this.cy.batch(() => this.updateData(elements));
    } else {
      this.cy.batch(() => this.sync(elements));
      this.layout(this.structure === undefined);
      this.structure = key;
    }
    this.renderEdgeRows(state, elements);
  }

  private updateData(elements: GraphElements): void {
    for (const node of elements.nodes) this.cy.getElementById(node.id).data(nodeData(node));
    for (const edge of elements.edges) this.cy.getElementById(edge.id).data(edgeData(edge));
  }

  /** Adds and removes elements to match; kept nodes keep their positions (and a moved node is re-added). */
  private sync(elements: GraphElements): void {
    const wanted = new Map<string, GraphNode>(elements.nodes.map((n) => [n.id, n]));
    this.cy.edges().remove(); // edges carry no position: re-add them all below
    this.cy.nodes().forEach((node) => {
      const want = wanted.get(node.id());
      if (!want || (want.parent ?? null) !== (node.data('parent') ?? null)) node.remove();
    });
    // Parents first: Cytoscape needs the compound node before its children.
    const ordered = [...elements.nodes].sort((a, b) => Number(a.kind !== 'cluster') - Number(b.kind !== 'cluster'));
    for (const node of ordered) {
      const existing = this.cy.getElementById(node.id);
      if (existing.nonempty()) existing.data(nodeData(node));
      else this.cy.add({ group: 'nodes', data: { id: node.id, ...(node.parent ? { parent: node.parent } : {}), ...nodeData(node) } });
    }
    for (const edge of elements.edges) {
      this.cy.add({ group: 'edges', data: { id: edge.id, source: edge.source, target: edge.target, ...edgeData(edge) } });
    }
  }

  private layout(first: boolean): void {
    this.layoutRuns++;
    const options = {
      name: 'fcose',
      // The first layout starts from a spectral placement; later ones start from where nodes are.
      quality: first ? 'default' : 'proof',
      randomize: first,
      animate: false,
      fit: true,
      padding: 30,
      nodeDimensionsIncludeLabels: true,
      // Long enough for an edge's label (`12.3 rps · 0.0% · p99 4 ms`, about 150 px) to sit beside its nodes.
      idealEdgeLength: 160,
      nodeRepulsion: 9000,
      nestingFactor: 0.6,
      gravity: 0.3,
      tile: true,
    } as cytoscape.LayoutOptions;
    this.cy.layout(options).run();
  }

  private renderEdgeRows(state: DashboardState, elements: GraphElements): void {
    const labels = new Map(elements.nodes.map((n) => [n.id, n.label.split('\n')[0]!]));
    const clusterOf = new Map(state.topology.nodes.map((n) => [n.id, n.cluster]));
    const nameOf = (id: string) => {
      const cluster = clusterOf.get(id);
      return cluster ? `${labels.get(id) ?? id} (${cluster})` : (labels.get(id) ?? id);
    };
    const edges = [...state.topology.edges].sort((a, b) => b.rps - a.rps);
    if (edges.length === 0) {
      replaceContent(this.edgeRows, [h('tr', {}, h('td', { colspan: '6' }, empty('No traffic in the window.')))]);
      return;
    }
    reconcile(
      this.edgeRows,
      edges,
      (e) => e.id,
      () => h('tr', { 'data-testid': 'edge-row' }),
      (row, edge) => {
        row.dataset.edge = edge.id;
        row.dataset.source = edge.source;
        row.dataset.target = edge.target;
        row.className = `health-${edge.health}${edge.crossCluster ? ' cross' : ''}`;
        replaceContent(row, [
          h('td', {}, nameOf(edge.source)),
          h('td', {}, nameOf(edge.target), edge.crossCluster ? h('span', { class: 'tag' }, 'cross-cluster') : null),
          h('td', { class: 'num', 'data-testid': 'edge-rps' }, formatRate(edge.rps)),
          h('td', { class: 'num' }, formatPercent(edge.errorRate)),
          h('td', { class: 'num' }, edge.p99Ms === undefined ? '–' : `${formatMs(edge.p99Ms)} ms`),
          h('td', {}, edge.security === 'mutual_tls' ? 'mTLS' : (edge.security ?? '')),
        ]);
      },
    );
  }
}

function nodeData(node: GraphNode): Record<string, unknown> {
  return { label: node.label, kind: node.kind, health: node.health };
}

function edgeData(edge: GraphEdge): Record<string, unknown> {
  return { label: edge.label, health: edge.health, crossCluster: edge.crossCluster, rps: edge.rps };
}
