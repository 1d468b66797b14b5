package demo

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// update rewrites products.json from the generator:
//
//	go test ./demo -run TestSampleDataIsGenerated -update
var update = flag.Bool("update", false, "rewrite demo/products.json from the generator")

// catalogue describes one synthetic shop: its categories, each with product nouns, a price
// range and description phrases, and its brands and owners.
type catalogue struct {
	team, shop string
	count      int
	brands     []string
	owners     []string
	categories []category
}

type category struct {
	name       string
	nouns      []string
	adjectives []string
	phrases    []string
	lo, hi     float64
}

var shops = []catalogue{
	{
		team: "acme", shop: "Acme Outdoor", count: 96,
		brands: []string{"Alpenglow", "Ridgeline", "Kestrel", "Timberwolf", "Cascade", "Everyday Basics"},
		owners: []string{"maya", "lars", "chen"},
		categories: []category{
			{"Tents", []string{"2-Person Tent", "Trekking Tent", "Dome Tent", "Bivy Shelter"}, []string{"Ultralight", "Storm", "Basecamp", "Summit"}, []string{"pitches in three minutes", "survives spring storms on the ridge", "packs down smaller than a loaf of bread", "has two doors and two vestibules"}, 89, 549},
			{"Backpacks", []string{"Daypack", "Trekking Pack", "Hydration Pack", "Travel Pack"}, []string{"Ventilated", "Rolltop", "Alpine", "Fastpack"}, []string{"carries a week of food with a breathable back panel", "has a waterproof rolltop and a hip belt with pockets", "fits under an airline seat", "keeps a 2-litre bladder cool"}, 39, 289},
			{"Sleeping bags", []string{"Down Sleeping Bag", "Synthetic Sleeping Bag", "Quilt", "Liner"}, []string{"Three-Season", "Winter", "Featherweight", "Cosy"}, []string{"is rated comfortable down to minus five", "compresses into its own stuff sack", "has a draught collar and a two-way zip", "stays warm when damp"}, 29, 459},
			{"Stoves", []string{"Canister Stove", "Camp Kettle", "Pot Set", "Wood Stove"}, []string{"Compact", "Windproof", "Titanium", "Trail"}, []string{"boils a litre in three minutes", "nests inside its own pot", "simmers gently for real cooking", "burns twigs and pine cones"}, 19, 179},
			{"Jackets", []string{"Rain Jacket", "Down Jacket", "Softshell", "Fleece"}, []string{"Breathable", "Packable", "Storm", "Everyday"}, []string{"keeps the rain out on long hikes", "packs into its own chest pocket", "stretches with every move on the rock", "is warm without bulk"}, 49, 399},
			{"Headlamps", []string{"Headlamp", "Lantern", "Bike Light", "Torch"}, []string{"Rechargeable", "Bright", "Red-Light", "Waterproof"}, []string{"throws 400 lumens for night trails", "charges over USB-C", "has a red mode that spares night vision", "floats if it falls in the lake"}, 15, 119},
		},
	},
	{
		team: "globex", shop: "Globex Kitchen", count: 96,
		brands: []string{"Brewster", "Copperleaf", "Ironbark", "Morning Ritual", "Kestrel", "Everyday Basics"},
		owners: []string{"sofia", "omar", "ines"},
		categories: []category{
			{"Espresso machines", []string{"Espresso Machine", "Lever Espresso Maker", "Moka Pot", "Milk Frother"}, []string{"Dual-Boiler", "Compact", "Classic", "Barista"}, []string{"pulls a rich shot with thick crema", "steams silky milk for flat whites", "heats up in under a minute", "is simple enough for the office"}, 29, 1299},
			{"Grinders", []string{"Burr Grinder", "Hand Grinder", "Spice Mill", "Pepper Mill"}, []string{"Conical", "Stepless", "Quiet", "Precision"}, []string{"grinds evenly from espresso to French press", "keeps the beans cool while grinding", "is quiet enough for early mornings", "adjusts in tiny steps"}, 19, 449},
			{"Kettles", []string{"Gooseneck Kettle", "Electric Kettle", "Stovetop Kettle", "Tea Kettle"}, []string{"Temperature-Control", "Pour-Over", "Whistling", "Enamel"}, []string{"pours a precise stream for pour-over coffee", "holds any temperature from 40 to 100 degrees", "whistles when the water boils", "looks lovely on an old stove"}, 25, 179},
			{"Knives", []string{"Chef's Knife", "Santoku", "Paring Knife", "Bread Knife"}, []string{"Damascus", "Forged", "Carbon-Steel", "Everyday"}, []string{"holds a razor edge through a week of dinners", "is balanced at the bolster", "slices crusty bread without crushing it", "comes with a wooden saya"}, 19, 349},
			{"Pans", []string{"Cast Iron Skillet", "Saute Pan", "Wok", "Dutch Oven"}, []string{"Pre-Seasoned", "Tri-Ply", "Non-Stick", "Enamelled"}, []string{"sears steak and bakes cornbread", "spreads heat evenly to the rim", "goes from the hob into the oven", "will outlive its owner"}, 24, 389},
			{"Teapots", []string{"Teapot", "Tea Infuser", "Cold Brew Jar", "Matcha Set"}, []string{"Glass", "Cast Iron", "Porcelain", "Travel"}, []string{"steeps loose leaves without bitterness", "keeps tea hot for an hour", "makes smooth cold brew overnight", "whisks matcha to a fine foam"}, 12, 129},
		},
	},
	{
		team: "initech", shop: "Initech Office", count: 48,
		brands: []string{"Quillworks", "Deskcraft", "Lumen", "Paperhaus"},
		owners: []string{"peter", "samir"},
		categories: []category{
			{"Desks", []string{"Standing Desk", "Writing Desk", "Desk Shelf"}, []string{"Electric", "Oak", "Compact"}, []string{"rises quietly at the touch of a button", "fits in a small flat", "hides its cables"}, 149, 899},
			{"Chairs", []string{"Office Chair", "Stool", "Footrest"}, []string{"Ergonomic", "Mesh", "Kneeling"}, []string{"supports the lower back all day", "breathes in summer", "rolls smoothly on any floor"}, 39, 699},
			{"Stationery", []string{"Notebook", "Fountain Pen", "Desk Lamp"}, []string{"Dotted", "Refillable", "Dimmable"}, []string{"lies flat when open", "writes smoothly from the first line", "is easy on tired eyes"}, 6, 149},
		},
	},
}

// generate builds the sample records, deterministically.
func generate() []map[string]any {
	rng := rand.New(rand.NewPCG(7700, 2024))
	var out []map[string]any
	for _, s := range shops {
		seen := map[string]bool{}
		for i := 0; i < s.count; i++ {
			c := s.categories[i%len(s.categories)]
			var name, brand string
			for {
				brand = s.brands[rng.IntN(len(s.brands))]
				name = brand + " " + c.adjectives[rng.IntN(len(c.adjectives))] + " " + c.nouns[rng.IntN(len(c.nouns))]
				if !seen[name] {
					break
				}
				name += fmt.Sprintf(" %d", 2+rng.IntN(8)*10)
				if !seen[name] {
					break
				}
			}
			seen[name] = true
			p1 := c.phrases[rng.IntN(len(c.phrases))]
			p2 := c.phrases[rng.IntN(len(c.phrases))]
			desc := fmt.Sprintf("The %s %s", strings.TrimPrefix(name, brand+" "), p1)
			if p2 != p1 {
				desc += " and " + p2
			}
			desc += fmt.Sprintf(". Sold by %s.", s.shop)
			price := c.lo + rng.Float64()*(c.hi-c.lo)
			price = math.Floor(price) + []float64{0, 0.5, 0.99}[rng.IntN(3)]
			rating := math.Round((3+rng.Float64()*2)*10) / 10
			out = append(out, map[string]any{
				"objectID":    fmt.Sprintf("%s-%03d", s.team, i+1),
				"name":        name,
				"description": desc,
				"brand":       brand,
				"category":    c.name,
				"price":       price,
				"rating":      rating,
				"popularity":  rng.IntN(1000),
				"team":        s.team,
				"shop":        s.shop,
				"owner":       s.owners[rng.IntN(len(s.owners))],
			})
		}
	}
	return out
}

func encodeRecords(recs []map[string]any) []byte {
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, r := range recs {
		line, err := json.Marshal(r)
		if err != nil {
			panic(err)
		}
		b.WriteString("  ")
		b.Write(line)
		if i < len(recs)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// TestSampleDataIsGenerated keeps products.json equal to what the generator writes (run with
// -update to rewrite it).
func TestSampleDataIsGenerated(t *testing.T) {
	want := encodeRecords(generate())
	if *update {
		if err := os.WriteFile("products.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(productsJSON, want) {
		t.Fatal("demo/products.json differs from the generator: run go test ./demo -run TestSampleDataIsGenerated -update")
	}
}
