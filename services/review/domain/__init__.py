"""Review's domain: entities (model), the ports it needs (ports), and one module of use cases per
topic — compliance, assignments (panels, declarations, materials), sheets, proposals, publicity,
on_site — over the pure rules of panels and scoring. No transport, no SQL."""
