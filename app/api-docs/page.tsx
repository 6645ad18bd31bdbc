import { openApiDocument } from "@/lib/api/openapi";

export const dynamic = "force-static";

type Schema = {
  type?: string;
  properties?: Record<string, Schema & { description?: string; enum?: string[]; pattern?: string; default?: unknown }>;
  required?: string[];
};
type Op = {
  summary: string;
  tags: string[];
  requestBody?: { content: { "application/json": { schema: Schema } } };
  responses: Record<string, { description: string }>;
};

// A readable page of the direct API, generated from the same document as /api/openapi.json.
export default function ApiDocs() {
  const doc = openApiDocument("");
  return (
    <main className="mx-auto max-w-3xl p-6 text-sm">
      <h1 className="text-2xl font-semibold">{doc.info.title}</h1>
      <p className="mt-2 text-slate-700">{doc.info.description}</p>
      <p className="mt-1">
        <a className="text-emerald-700 underline" href="/api/openapi.json">
          OpenAPI 3.1 (JSON)
        </a>
      </p>
      {Object.entries(doc.paths).map(([p, methods]) =>
        Object.entries(methods as Record<string, Op>).map(([m, op]) => {
          const body = op.requestBody?.content["application/json"].schema;
          return (
            <section key={`${m} ${p}`} className="mt-6 rounded border border-slate-200 bg-white p-4">
              <h2 className="font-mono font-semibold">
                <span className="uppercase text-emerald-700">{m}</span> {p}
              </h2>
              <p className="mt-1 text-slate-700">{op.summary}</p>
              {body?.properties && (
                <table className="mt-3 w-full text-left">
                  <thead>
                    <tr className="text-slate-500">
                      <th className="pr-2">field</th>
                      <th className="pr-2">type</th>
                      <th>notes</th>
                    </tr>
                  </thead>
                  <tbody>
                    {Object.entries(body.properties).map(([name, f]) => (
                      <tr key={name} className="align-top">
                        <td className="pr-2 font-mono">
                          {name}
                          {body.required?.includes(name) ? " *" : ""}
                        </td>
                        <td className="pr-2">{f.enum ? f.enum.join(" | ") : (f.type ?? "any")}</td>
                        <td className="text-slate-600">
                          {[
                            f.description,
                            f.pattern && `pattern ${f.pattern}`,
                            f.default !== undefined && `default ${JSON.stringify(f.default)}`,
                          ]
                            .filter(Boolean)
                            .join("; ")}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              <p className="mt-2 text-slate-500">
                {Object.entries(op.responses)
                  .map(([s, r]) => `${s} ${r.description}`)
                  .join(" · ")}
              </p>
            </section>
          );
        }),
      )}
    </main>
  );
}
